import { describe, expect, it } from 'vitest';
import { RECENT_HEARTBEATS as API_RECENT_HEARTBEATS } from '../../api/agents/agents.table';
import { MAX_WATCHED_AGENTS } from '../../api/liveness/heartbeat.feed';
import { RECENT_HEARTBEATS } from '../../dashboard/src/lib/heartbeats';
import { MAX_WATCHED } from '../../dashboard/src/lib/fleet-live';

// The dashboard bundles its own copies of these API limits (it imports no server code).
describe('the dashboard’s copies of API limits', () => {
  it('keeps as many heartbeats in the strip as Agent.recentHeartbeats holds', () => {
    expect(RECENT_HEARTBEATS).toBe(API_RECENT_HEARTBEATS);
  });

  it('watches at most as many agents per agentHeartbeats subscription as the API takes', () => {
    expect(MAX_WATCHED).toBe(MAX_WATCHED_AGENTS);
  });
});
