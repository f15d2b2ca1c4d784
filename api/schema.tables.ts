export * from './agents/agents.table';
export * from './events/events.table';
export * from './auth/auth.table';
export * from './alerts/alerts.table';
