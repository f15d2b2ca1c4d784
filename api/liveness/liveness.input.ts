import { Validator } from '../validation';
import type { Health } from './policy';

const HEALTH = ['healthy', 'degraded', 'unhealthy'];
export const MAX_MESSAGE_BYTES = 1024;

export interface HeartbeatInput {
  health: Health;
  message: string | null;
  sequence: number | null;
}

/** `health` may be omitted (healthy); its status is matched without regard to case. */
export function parseHeartbeat(raw: Record<string, unknown>): HeartbeatInput {
  const v = new Validator();
  let health: Health = 'healthy';
  let message: string | null = null;
  const h = raw.health;
  if (h !== undefined && h !== null) {
    if (typeof h !== 'object' || Array.isArray(h)) {
      v.fail('health', 'must be an object like {"status":"healthy","message":"…"}');
    } else {
      const { status, message: msg } = h as Record<string, unknown>;
      if (typeof status !== 'string' || !HEALTH.includes(status.toLowerCase())) {
        v.fail('health.status', `must be one of ${HEALTH.join(', ')}`);
      } else health = status.toLowerCase() as Health;
      if (msg !== undefined && msg !== null) {
        const text = v.string(msg, 'health.message', { max: MAX_MESSAGE_BYTES });
        if (text !== undefined && Buffer.byteLength(text) > MAX_MESSAGE_BYTES) v.fail('health.message', `must be at most ${MAX_MESSAGE_BYTES} bytes`);
        else message = text || null;
      }
    }
  }
  const sequence = v.integer(raw.sequence, 'sequence', { min: 0, max: 2_147_483_647 }) ?? null;
  v.done();
  return { health, message, sequence };
}
