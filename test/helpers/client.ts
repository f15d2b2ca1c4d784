/** Minimal HTTP clients for the public doors, returning status and parsed body. */
export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export async function request<T = any>(
  url: string,
  opts: { method?: string; token?: string; json?: unknown; body?: string; headers?: Record<string, string> } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body = opts.body;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  const res = await fetch(url, { method: opts.method ?? (body !== undefined ? 'POST' : 'GET'), headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

export interface GraphQLBody<D = any> {
  data?: D;
  errors?: { message: string; path?: string[]; extensions?: { code?: string; fields?: Record<string, string> } }[];
}

export function graphql<D = any>(baseUrl: string, token: string | undefined, query: string, variables?: Record<string, unknown>) {
  return request<GraphQLBody<D>>(`${baseUrl}/graphql`, { token, json: { query, variables } });
}

export const SEED_AGENT = {
  name: 'Web Server Alpha',
  type: 'api_agent',
  host: 'web-01.company.com',
  port: 8080,
  environment: 'production',
  metadata: { region: 'us-east-1', team: 'platform' },
};

/** Runs `n` calls `width` at a time; the results in call order. */
export async function inParallel<T>(n: number, width: number, call: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await call(i);
    }
  }));
  return out;
}
