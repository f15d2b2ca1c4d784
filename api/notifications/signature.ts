import { createHmac, randomBytes } from 'node:crypto';

/** A Standard Webhooks secret: `whsec_` and 32 random bytes in base64. */
export const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

const keyOf = (secret: string) => Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');

/**
 * The headers of one attempt, per Standard Webhooks: `webhook-id` (the same on every
 * attempt of a message), `webhook-timestamp` (seconds, this attempt's), and
 * `webhook-signature`: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body` under
 * each secret in use (two during a rotation), space-separated.
 */
export function signatureHeaders(id: string, timestampSeconds: number, body: string, secrets: string[]): Record<string, string> {
  const content = `${id}.${timestampSeconds}.${body}`;
  const signatures = secrets.map((s) => `v1,${createHmac('sha256', keyOf(s)).update(content).digest('base64')}`);
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': signatures.join(' ') };
}
