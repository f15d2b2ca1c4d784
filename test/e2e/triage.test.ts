import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server';
import { heartbeat, registerAgent, type Registered } from './agents';
import { axeFindings, browserAvailable, cuttableSocket, launchChromium, openSignedIn, row } from './browser';

const SCREENSHOTS = new URL('../../docs/screenshots/', import.meta.url);

async function gql(server: TestServer, query: string) {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return res.json() as Promise<{ data?: Record<string, unknown>; errors?: unknown[] }>;
}

describe.skipIf(!browserAvailable)('triage in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let sick: Registered;
  let gone: Registered;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchChromium();
    for (const name of ['gw-10', 'gw-2', 'gw-1']) await heartbeat(server.url, await registerAgent(server.url, server.enrollmentToken, { name }));
    sick = await registerAgent(server.url, server.enrollmentToken, { name: 'db-sick', type: 'database_monitor' });
    const res = await fetch(`${server.url}/api/v1/agents/${sick.id}/heartbeat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sick.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ health: { status: 'degraded', message: 'replication lag 42 s' } }),
    });
    expect(res.ok).toBe(true);
    // One heartbeat, then silence: offline after three missed 1 s intervals.
    gone = await registerAgent(server.url, server.enrollmentToken, { name: 'edge-quiet', heartbeatIntervalSeconds: 1 });
    await heartbeat(server.url, gone);
    for (let i = 0; i < 60; i++) {
      const agent = (await gql(server, `{ agent(id: "${gone.id}") { status } }`)).data?.agent as { status: string };
      if (agent.status === 'OFFLINE') break;
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('opens worst first, says why in the row, and orders names naturally', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.viewerToken);
    await row(page, 'gw-10').waitFor();
    const names = () => page.locator('tr[data-agent-id] td:nth-child(3)').allTextContents();
    // Offline, degraded, then online; within a status, the longest in it first.
    await expect.poll(names).toEqual(['edge-quiet', 'db-sick', 'gw-10', 'gw-2', 'gw-1']);
    await expect.poll(() => row(page, 'db-sick').locator('td.why').textContent()).toContain('replication lag 42 s');
    await expect.poll(() => row(page, 'edge-quiet').locator('td.why').textContent()).toMatch(/no heartbeat for/);
    // The offline agent's sparkline ends in silence, not green.
    expect(await row(page, 'edge-quiet').locator('svg[data-silent]').getAttribute('data-silent')).toBe('true');

    // By name: digits by number.
    await page.getByLabel('Sort by').selectOption('NAME');
    await expect.poll(names).toEqual(['db-sick', 'edge-quiet', 'gw-1', 'gw-2', 'gw-10']);
    await page.goBack();
    await expect.poll(names).toEqual(['edge-quiet', 'db-sick', 'gw-10', 'gw-2', 'gw-1']);

    // Keyboard: / to the search, j/k through the rows, Enter opens, g f back to the fleet.
    await page.locator('body').click({ position: { x: 5, y: 300 } });
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('type'))).toBe('search');
    await page.keyboard.press('Escape');
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await expect.poll(() => page.locator('tr[aria-current="true"]').getAttribute('data-agent-id')).toBe(sick.id);
    await page.keyboard.press('Enter');
    await expect.poll(() => new URL(page.url()).pathname).toBe(`/dashboard/agents/${sick.id}`);
    await page.locator('h1', { hasText: 'db-sick' }).waitFor();
    await page.keyboard.press('g');
    await page.keyboard.press('f');
    await expect.poll(() => new URL(page.url()).pathname).toBe('/dashboard/');
    await context.close();
  });

  it('an offline agent\'s page shows the silence and does not call its health current', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.viewerToken, { path: `/agents/${gone.id}` });
    await page.locator('[data-silence-ms]').waitFor();
    expect(await page.locator('[data-health-current]').getAttribute('data-health-current')).toBe('false');
    expect(await page.locator('[data-health-current]').textContent()).toContain('unknown (offline)');
    await page.locator('[data-span="24 h"] [data-uptime]').waitFor();
    await context.close();
  });

  it('marks the page stale while the server is unreachable, and catches up with a filter clicked meanwhile', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.adminToken);
    const socket = await cuttableSocket(context);
    await page.reload();
    await page.locator('[data-connection="live"]').waitFor();
    await row(page, 'gw-2').waitFor();

    // The server "stops": the socket drops and HTTP requests fail.
    await page.route(/\/graphql$/, (route) => route.abort('connectionrefused'));
    await socket.cut();
    await page.locator('[data-stale-since]').waitFor();
    expect(await page.locator('[data-stale-since]').textContent()).toMatch(/as of \d\d:\d\d:\d\d/);
    const frozen = await row(page, 'gw-2').locator('td.since').textContent();
    await page.waitForTimeout(2_100);
    expect(await row(page, 'gw-2').locator('td.since').textContent()).toBe(frozen);

    await page.getByRole('button', { name: /offline/ }).click();
    await page.locator('[data-waiting]').waitFor();
    expect(await row(page, 'gw-2').count()).toBe(1);

    await page.unroute(/\/graphql$/);
    socket.restore();
    await page.locator('[data-connection="live"]').waitFor({ timeout: 20_000 });
    await expect.poll(() => row(page, 'gw-2').count(), { timeout: 10_000 }).toBe(0);
    await row(page, 'edge-quiet').waitFor();
    expect(await page.locator('[data-stale-since]').count()).toBe(0);
    await context.close();
  });

  it('a deregistered agent\'s page still opens, marked deregistered, with its history', async () => {
    const leaving = await registerAgent(server.url, server.enrollmentToken, { name: 'leaving-soon' });
    const res = await gql(server, `mutation { deregisterAgent(id: "${leaving.id}") { id } }`);
    expect(res.errors).toBeUndefined();
    const { context, page } = await openSignedIn(browser, server.url, server.viewerToken, { path: `/agents/${leaving.id}` });
    await page.locator('[data-deregistered]').waitFor();
    await page.locator('h1', { hasText: 'leaving-soon' }).waitFor();
    await page.locator('li[data-event-type="DEREGISTERED"]').waitFor();
    expect(await page.getByText('Agent not found').count()).toBe(0);
    await context.close();
  });

  it('at phone width the fleet is a list of cards with the counts on top', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'light' });
    const page = await context.newPage();
    await page.goto(`${server.url}/dashboard/#token=${server.viewerToken}`);
    await page.locator('[data-connection="live"]').waitFor();
    await page.locator('li[data-agent-id]').first().waitFor();
    expect(await page.locator('table').count()).toBe(0);
    const card = page.locator('li[data-agent-id]', { hasText: 'db-sick' });
    expect(await card.textContent()).toContain('replication lag 42 s');
    // Nothing wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const counts = await page.locator('[data-count="total"]').boundingBox();
    const first = await page.locator('li[data-agent-id]').first().boundingBox();
    expect(counts!.y).toBeLessThan(first!.y);
    await mkdir(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: new URL('fleet-phone.png', SCREENSHOTS).pathname });
    await context.close();
  });

  it('axe finds nothing serious or critical on the fleet, agent and alerts pages, light and dark', async () => {
    for (const colorScheme of ['light', 'dark'] as const) {
      for (const path of ['/', `/agents/${sick.id}`, '/alerts']) {
        const { context, page } = await openSignedIn(browser, server.url, server.adminToken, { path, colorScheme });
        await page.locator('main h1, main [data-agent-id]').first().waitFor();
        await page.waitForTimeout(300);
        expect({ colorScheme, path, findings: await axeFindings(page) }).toEqual({ colorScheme, path, findings: [] });
        if (colorScheme === 'light' && path.startsWith('/agents/')) {
          await page.screenshot({ path: new URL('agent-page.png', SCREENSHOTS).pathname, fullPage: true });
        }
        await context.close();
      }
    }
  });
});
