import { defineRelations } from 'drizzle-orm';
import * as tables from './schema.tables';

export const relations = defineRelations(tables, (r) => ({
  agents: {
    tags: r.many.agentTags({ from: r.agents.id, to: r.agentTags.agentId }),
    configuration: r.many.agentConfigurations({ from: r.agents.id, to: r.agentConfigurations.agentId }),
  },
  agentTags: {
    agent: r.one.agents({ from: r.agentTags.agentId, to: r.agents.id, optional: false }),
  },
  agentConfigurations: {
    agent: r.one.agents({ from: r.agentConfigurations.agentId, to: r.agents.id, optional: false }),
  },
}));

export type Relations = typeof relations;
