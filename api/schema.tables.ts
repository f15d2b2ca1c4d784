export * from './agents/agents.table';
export * from './events/events.table';
export * from './auth/auth.table';
export * from './keys/keys.table';
export * from './metrics/metrics.table';
export * from './alerts/alerts.table';
export * from './notifications/notifications.table';
