import { graphql, request, type JsonResponse } from './client';

export function pushRest(baseUrl: string, agentId: string, token: string | undefined, metrics: unknown): Promise<JsonResponse> {
  return request(`${baseUrl}/api/v1/agents/${agentId}/metrics`, { token, json: { metrics } });
}

export const METRICS_QUERY = `query($id: ID!, $names: [String!], $from: DateTime, $to: DateTime, $step: Int, $counters: CounterMode) {
  agent(id: $id) {
    metrics(names: $names, from: $from, to: $to, step: $step, counters: $counters) {
      resolution stepSeconds from to
      series { name labels kind unit pointUnit points { at value min max count } }
    }
  }
}`;

export async function queryMetrics(baseUrl: string, token: string, id: string, vars: Record<string, unknown> = {}) {
  const res = await graphql(baseUrl, token, METRICS_QUERY, { id, ...vars });
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.agent.metrics as {
    resolution: string;
    stepSeconds: number;
    from: string;
    to: string;
    series: { name: string; labels: Record<string, string>; kind: string; unit: string; pointUnit: string; points: { at: string; value: number; min: number; max: number; count: number }[] }[];
  };
}

export const LATEST_QUERY = `query($id: ID!, $names: [String!]) { agent(id: $id) { latestMetrics(names: $names) { name labels kind unit at value } } }`;

export async function latestMetrics(baseUrl: string, token: string, id: string, names?: string[]) {
  const res = await graphql(baseUrl, token, LATEST_QUERY, { id, names });
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.agent.latestMetrics as { name: string; labels: Record<string, string>; kind: string; unit: string; at: string; value: number }[];
}

export const iso = (ms: number) => new Date(ms).toISOString();
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
