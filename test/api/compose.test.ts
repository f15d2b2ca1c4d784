import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../api/config';

const root = new URL('../../', import.meta.url);
const compose = parse(fs.readFileSync(new URL('docker-compose.yml', root), 'utf8'));
const server = compose.services.server;
const postgres = compose.services.postgres;

// Compose run from a shell without PORT set, and from one with PORT=9123.
const SHELLS: Record<string, string>[] = [{}, { PORT: '9123' }];

/** Compose's variable substitution: ${VAR:-default}, ${VAR-default}, ${VAR}, $VAR and $$. */
function interpolate(value: string, shell: Record<string, string>): string {
  return value.replace(/\$\$|\$\{(\w+)(?:(:?-)([^}]*))?\}|\$(\w+)/g, (match, braced, op, fallback, bare) => {
    if (match === '$$') return '$';
    const name = braced ?? bare;
    const set = shell[name];
    if (op === ':-') return set ? set : fallback;
    if (op === '-') return set ?? fallback;
    return set ?? '';
  });
}

/** A service's environment (map or KEY=VALUE list) as the container would see it. */
function environmentOf(service: { environment?: Record<string, unknown> | string[] }, shell: Record<string, string> = {}) {
  const raw = service.environment ?? {};
  const entries = Array.isArray(raw)
    ? raw.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])
    : Object.entries(raw).map(([k, v]) => [k, v === null ? '' : String(v)]);
  return Object.fromEntries(entries.map(([k, v]) => [k, interpolate(v, shell)])) as Record<string, string>;
}

/** [published, target] port pairs from short ("8000:8000", "127.0.0.1:8000:8000") or long syntax. */
function portsOf(service: { ports?: unknown[] }, shell: Record<string, string> = {}): [number, number][] {
  return (service.ports ?? []).map((p) => {
    if (typeof p === 'object' && p !== null) {
      const { published, target } = p as { published?: unknown; target: unknown };
      return [Number(interpolate(String(published ?? target), shell)), Number(interpolate(String(target), shell))];
    }
    const parts = interpolate(String(p), shell).split(':');
    return [Number(parts.at(-2) ?? parts.at(-1)), Number(parts.at(-1)!.split('/')[0])];
  });
}

/** The environment variable names loadConfig reads, learned by watching it read. */
function namesLoadConfigReads(env: Record<string, string>): Set<string> {
  const read = new Set<string>();
  loadConfig(new Proxy(env, { get: (target, key) => (typeof key === 'string' && read.add(key), Reflect.get(target, key)) }));
  return read;
}

describe('docker-compose.yml', () => {
  it('runs the server from this repository on Node 20 and PostgreSQL 15', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['postgres', 'server']);
    expect(postgres.image).toMatch(/^postgres:15(\.|-|$)/);
    expect(server.build).toBe('.');
    const dockerfile = fs.readFileSync(new URL('Dockerfile', root), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20\b/m);
    expect(dockerfile).toMatch(/^RUN npm ci$/m);
    const ignored = fs.readFileSync(new URL('.dockerignore', root), 'utf8').split('\n');
    expect(ignored).toContain('node_modules');
  });

  it('starts the server as npm start does, with the same Node flags', () => {
    const start: string = JSON.parse(fs.readFileSync(new URL('package.json', root), 'utf8')).scripts.start;
    const cmd = /^CMD (\[.*\])$/m.exec(fs.readFileSync(new URL('Dockerfile', root), 'utf8'));
    expect(cmd, 'the Dockerfile has an exec-form CMD').not.toBeNull();
    expect((JSON.parse(cmd![1]) as string[]).join(' ')).toBe(start);
    expect(start).toMatch(/^node --max-semi-space-size=\d+ --import tsx api\/main\.ts$/);
  });

  it('sets only environment variables that api/config.ts reads', () => {
    const env = environmentOf(server);
    const read = namesLoadConfigReads(env);
    const unknown = Object.keys(env).filter((name) => !read.has(name));
    expect(unknown, `config.ts never reads ${unknown.join(', ')}`).toEqual([]);
    for (const name of ['DATABASE_URL', 'PORT']) expect(Object.keys(env)).toContain(name);
  });

  it('leaves the operator tokens to the shell, empty (generated on first start) when unset', () => {
    const raw = server.environment as Record<string, string>;
    for (const name of ['ADMIN_TOKEN', 'VIEWER_TOKEN', 'ENROLLMENT_TOKEN']) {
      if (!(name in raw)) continue;
      expect(raw[name], name).toBe(`\${${name}:-}`);
    }
    const env = environmentOf(server, { ADMIN_TOKEN: 'an-admin-token-from-the-shell' });
    const config = loadConfig(env);
    expect(config.adminToken).toBe('an-admin-token-from-the-shell');
    expect(config.viewerToken).toBeUndefined();
  });

  it('gives loadConfig a valid configuration: PostgreSQL on the postgres service, and the port', () => {
    for (const shell of SHELLS) {
      const config = loadConfig(environmentOf(server, shell));
      const url = new URL(config.databaseUrl!);
      expect(url.protocol).toBe('postgres:');
      expect(url.hostname).toBe('postgres');
      const db = environmentOf(postgres);
      expect(decodeURIComponent(url.username)).toBe(db.POSTGRES_USER ?? 'postgres');
      expect(decodeURIComponent(url.password)).toBe(db.POSTGRES_PASSWORD);
      expect(url.pathname.slice(1)).toBe(db.POSTGRES_DB ?? db.POSTGRES_USER ?? 'postgres');
      expect(config.port).toBe(Number(environmentOf(server, shell).PORT));
      if ('PORT' in shell) expect(config.port).toBe(9123);
    }
  });

  it('maps the port the server listens on (PORT), whatever PORT is set to', () => {
    for (const shell of SHELLS) {
      const port = loadConfig(environmentOf(server, shell)).port;
      const ports = portsOf(server, shell);
      expect(ports.some(([, target]) => target === port), JSON.stringify(ports)).toBe(true);
    }
  });

  it('starts the server only once PostgreSQL answers its health check', () => {
    expect(postgres.healthcheck?.test).toBeDefined();
    expect(server.depends_on?.postgres?.condition).toBe('service_healthy');
  });
});
