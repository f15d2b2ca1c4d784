import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server';
import { registerAgent } from './agents';
import { browserAvailable, cuttableSocket, launchChromium, row } from './browser';

describe.skipIf(!browserAvailable)('connection loss in Chromium', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchChromium();
    await registerAgent(server.url, server.enrollmentToken, { name: 'steady' });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('the agent timeline resumes after a reconnect with the events it missed', async () => {
    const agent = await registerAgent(server.url, server.enrollmentToken, { name: 'timeline' });
    const context = await browser.newContext();
    const socket = await cuttableSocket(context);
    const page = await context.newPage();
    await page.goto(`${server.url}/dashboard/agents/${agent.id}#token=${server.viewerToken}`);
    await page.locator('li[data-event-type="REGISTERED"]').waitFor();
    await page.locator('[data-connection="live"]').waitFor();

    await socket.cut();
    await page.locator('[data-connection="reconnecting"]').waitFor();
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: `mutation { addAgentTags(agentId: "${agent.id}", tags: ["while-down"]) { id } }` }),
    });
    expect(res.ok).toBe(true);

    socket.restore();
    await page.locator('[data-connection="live"]').waitFor({ timeout: 15_000 });
    await page.locator('li[data-event-type="TAGS_CHANGED"]').waitFor({ timeout: 10_000 });
    await page.locator('li[data-tag="while-down"]').waitFor();
    expect(await page.locator('li[data-event-type="TAGS_CHANGED"]').count()).toBe(1);
    await context.close();
  });

  it('shows reconnecting… while the socket is down, and after reconnecting shows what it missed', async () => {
    const context = await browser.newContext();
    const socket = await cuttableSocket(context);
    const page = await context.newPage();
    await page.goto(`${server.url}/dashboard/#token=${server.viewerToken}`);
    await page.locator('[data-connection="live"]').waitFor();
    await row(page, 'steady').waitFor();

    await socket.cut();
    await page.locator('[data-connection="reconnecting"]').waitFor();
    expect(await page.getByRole('status').filter({ hasText: 'reconnecting…' }).count()).toBe(1);

    // Registered while the dashboard is deaf: no event will ever reach it.
    await registerAgent(server.url, server.enrollmentToken, { name: 'missed-while-down' });
    await page.waitForTimeout(500);
    expect(await row(page, 'missed-while-down').count()).toBe(0);

    socket.restore();
    await page.locator('[data-connection="live"]').waitFor({ timeout: 15_000 });
    await row(page, 'missed-while-down').waitFor({ timeout: 10_000 });
    const counts = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.viewerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ agentStatusCounts { total } }' }),
    }).then((r) => r.json() as Promise<{ data: { agentStatusCounts: { total: number } } }>);
    await expect.poll(() => page.locator('[data-count="total"]').textContent()).toBe(String(counts.data.agentStatusCounts.total));
    await context.close();
  });
});
