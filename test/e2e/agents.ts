/** Seeds agents through the public REST door, the way real agents arrive. */

export interface Registered {
  id: string;
  name: string;
  token: string;
}

export interface AgentSeed {
  name: string;
  type?: string;
  host?: string;
  port?: number;
  environment?: string;
  heartbeatIntervalSeconds?: number;
}

export async function registerAgent(baseUrl: string, token: string, seed: AgentSeed): Promise<Registered> {
  const res = await fetch(`${baseUrl}/api/v1/agents/register`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: seed.name,
      type: seed.type ?? 'web_server',
      host: seed.host ?? `${seed.name}.example.internal`,
      port: seed.port ?? 8080,
      environment: seed.environment ?? 'production',
      metadata: { seededBy: 'e2e' },
      heartbeat_interval_seconds: seed.heartbeatIntervalSeconds ?? 60,
    }),
  });
  if (res.status !== 201 && res.status !== 200) throw new Error(`register ${seed.name}: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { id: string; token: string };
  return { id: body.id, name: seed.name, token: body.token };
}

export async function heartbeat(baseUrl: string, agent: Registered, status = 'healthy'): Promise<void> {
  const res = await fetch(`${baseUrl}/api/v1/agents/${agent.id}/heartbeat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ health: { status } }),
  });
  if (!res.ok) throw new Error(`heartbeat ${agent.name}: ${res.status} ${await res.text()}`);
}

/** Heartbeats on a timer until stopped, like a live agent. */
export function keepBeating(baseUrl: string, agent: Registered, everyMs: number): () => void {
  const timer = setInterval(() => void heartbeat(baseUrl, agent).catch(() => {}), everyMs);
  return () => clearInterval(timer);
}
