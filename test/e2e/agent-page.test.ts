import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { graphql, request } from '../helpers/client';
import { startTestServer, type TestServer } from '../helpers/server';
import { heartbeat, registerAgent, type Registered } from './agents';
import { browserAvailable, launchChromium, openSignedIn, row, unlabelledControls } from './browser';

describe.skipIf(!browserAvailable)('agent page in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let agent: Registered;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchChromium();
    agent = await registerAgent(server.url, server.enrollmentToken, { name: 'edit-me', type: 'cache_monitor' });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('an admin adds a tag and a second browser context sees it live', async () => {
    const watcher = await openSignedIn(browser, server.url, server.viewerToken);
    await row(watcher.page, 'edit-me').waitFor();

    const admin = await openSignedIn(browser, server.url, server.adminToken, { path: `/agents/${agent.id}` });
    await admin.page.getByRole('heading', { name: 'edit-me' }).waitFor();
    await admin.page.getByLabel('New tag').fill('critical');
    await admin.page.getByRole('button', { name: 'Add tag' }).click();
    await admin.page.locator('li[data-tag="critical"]').waitFor();

    await row(watcher.page, 'edit-me').locator('.chip', { hasText: 'critical' }).waitFor({ timeout: 10_000 });
    // The change is also on the timeline of the page that made it.
    await admin.page.locator('li[data-event-type="TAGS_CHANGED"]').first().waitFor({ timeout: 10_000 });
    await watcher.context.close();
    await admin.context.close();
  });

  it('an admin sets configuration as JSON; invalid JSON is refused before sending', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.adminToken, { path: `/agents/${agent.id}` });
    await page.getByRole('heading', { name: 'edit-me' }).waitFor();
    expect(await unlabelledControls(page)).toEqual([]);
    await page.getByLabel('Key').fill('limits');
    await page.getByLabel('Value (JSON)').fill('{"cpu": 2');
    expect(await page.getByRole('button', { name: 'Add', exact: true }).isDisabled()).toBe(true);
    await page.getByText(/Not valid JSON/).waitFor();
    await page.getByLabel('Value (JSON)').fill('{"cpu": 2}');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.locator('tr[data-config-key="limits"]').waitFor();
    expect(await page.locator('tr[data-config-key="limits"] pre').textContent()).toContain('"cpu": 2');
    await context.close();
  });

  it('two admins edit one key: the one who began from an older value is warned live, and refused when the change has not reached the page yet', async () => {
    const set = (value: unknown) =>
      graphql(server.url, server.adminToken, 'mutation($id: ID!, $v: JSON!) { setAgentConfiguration(agentId: $id, key: "mode", value: $v) { id } }', { id: agent.id, v: value });
    await set('blue');
    // The page's live stream passes through here, so a test can hold back what the server pushes.
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    let hold = false;
    const held: (() => void)[] = [];
    await context.routeWebSocket(/\/graphql/, (ws) => {
      const upstream = ws.connectToServer();
      upstream.onMessage((m) => (hold ? held.push(() => ws.send(m)) : ws.send(m)));
      ws.onMessage((m) => upstream.send(m));
    });
    const page = await context.newPage();
    await page.goto(`${server.url}/dashboard/agents/${agent.id}#token=${server.adminToken}`);
    const modeRow = page.locator('tr[data-config-key="mode"]');
    await modeRow.waitFor();
    await page.getByRole('button', { name: 'Edit mode' }).click();
    await page.getByLabel('Value (JSON)').fill('"green"');

    // Another admin changes the key while this form is open: the live table shows it, the form says so, and saving replaces it.
    await set('red');
    await modeRow.locator('pre', { hasText: '"red"' }).waitFor({ timeout: 10_000 });
    await page.getByRole('status').filter({ hasText: '"mode" has been changed by someone else since you began editing' }).waitFor();
    await page.getByRole('button', { name: 'Save' }).click();
    await modeRow.locator('pre', { hasText: '"green"' }).waitFor();

    // A change the page has not been shown yet is not overwritten: the save is refused and says why.
    await page.getByRole('button', { name: 'Edit mode' }).click();
    await page.getByLabel('Value (JSON)').fill('"violet"');
    hold = true;
    await set('black');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('alert').filter({ hasText: '"mode" was changed by someone else since you began editing; nothing was saved.' }).waitFor({ timeout: 10_000 });
    expect((await request(`${server.url}/api/v1/agents/${agent.id}/configuration`, { token: server.viewerToken })).body.configuration.mode).toBe('black');
    // Once the change arrives, a second save replaces what the table then shows.
    hold = false;
    for (const send of held.splice(0)) send();
    await modeRow.locator('pre', { hasText: '"black"' }).waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Save' }).click();
    await modeRow.locator('pre', { hasText: '"violet"' }).waitFor();
    await context.close();
  });

  it('a heartbeat adds a bar to the agent page’s strip and moves the fleet row’s last heartbeat, pushed, with no query', async () => {
    const beating = await registerAgent(server.url, server.enrollmentToken, { name: 'beats-live' });
    await heartbeat(server.url, beating);
    const feed = server.app.heartbeats;
    // Pages of earlier tests are closed, but the server may not have seen their sockets go yet.
    await expect.poll(() => feed.subscriberCount, { timeout: 10_000 }).toBe(0);

    const agentPage = await openSignedIn(browser, server.url, server.viewerToken, { path: `/agents/${beating.id}` });
    const bars = agentPage.page.getByRole('list', { name: /Recent heartbeats/ }).locator('li.bar');
    await expect.poll(() => bars.count()).toBe(1);

    const fleet = await openSignedIn(browser, server.url, server.viewerToken);
    const lastHeartbeat = row(fleet.page, 'beats-live').locator('td').nth(8).locator('time');
    await lastHeartbeat.waitFor();
    const before = await lastHeartbeat.getAttribute('title');
    // Both pages subscribed (the fleet once its rows settled), and the feed has made a
    // whole read since (two completed: the first may have begun before).
    await expect.poll(() => feed.subscriberCount, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    const reads = feed.reads;
    await expect.poll(() => feed.reads, { timeout: 10_000 }).toBeGreaterThanOrEqual(reads + 2);

    // Queries that read rows or the agent. (The status change this heartbeat makes is an
    // event, after which the status cards are re-counted: FleetSummary, not a re-read.)
    const rereads: string[] = [];
    for (const p of [fleet.page, agentPage.page]) {
      p.on('request', (r) => {
        if (new URL(r.url()).pathname !== '/graphql') return;
        const operation = /query\s+(\w+)/.exec(r.postData() ?? decodeURIComponent(r.url()))?.[1] ?? '?';
        if (operation !== 'FleetSummary') rereads.push(`${r.method()} ${operation}`);
      });
    }
    await new Promise((r) => setTimeout(r, 1_100)); // a new second, so the row's exact time reads differently
    await heartbeat(server.url, beating, 'degraded');

    await expect.poll(() => bars.count(), { timeout: 10_000 }).toBe(2);
    expect(await bars.last().getAttribute('data-health')).toBe('DEGRADED');
    await expect.poll(() => lastHeartbeat.getAttribute('title'), { timeout: 10_000 }).not.toBe(before);
    await expect.poll(() => row(fleet.page, 'beats-live').getAttribute('data-status')).toBe('DEGRADED');
    expect(rereads).toEqual([]);
    await agentPage.context.close();
    await fleet.context.close();
  });

  it('a viewer sees the agent but no editing controls', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.viewerToken, { path: `/agents/${agent.id}` });
    await page.getByRole('heading', { name: 'edit-me' }).waitFor();
    await page.getByRole('heading', { name: 'Events' }).waitFor();
    expect(await page.getByLabel('New tag').count()).toBe(0);
    expect(await page.getByRole('button', { name: /Add tag|Deregister|Edit|Delete|Remove tag/ }).count()).toBe(0);
    expect(await page.getByLabel('Value (JSON)').count()).toBe(0);
    await context.close();
  });

  it('deregistering asks for confirmation, then the agent leaves the fleet live', async () => {
    const doomed = await registerAgent(server.url, server.enrollmentToken, { name: 'doomed' });
    const watcher = await openSignedIn(browser, server.url, server.viewerToken);
    await row(watcher.page, 'doomed').waitFor();
    const admin = await openSignedIn(browser, server.url, server.adminToken, { path: `/agents/${doomed.id}` });
    await admin.page.getByRole('button', { name: 'Deregister…' }).click();
    const dialog = admin.page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await dialog.isVisible()).toBe(false);
    await admin.page.getByRole('button', { name: 'Deregister…' }).click();
    await dialog.getByRole('button', { name: 'Deregister' }).click();
    await admin.page.getByText('This agent has been deregistered').waitFor();
    await expect.poll(() => row(watcher.page, 'doomed').count(), { timeout: 10_000 }).toBe(0);
    await watcher.context.close();

    // Opened again later, the page says it is gone: no live status, deadline or metrics hint.
    await admin.page.reload();
    const banner = admin.page.locator('[data-deregistered]');
    await banner.waitFor();
    expect(await banner.textContent()).toMatch(/^\s*This agent has been deregistered \([^)]+\)\. Its history stays below\.\s*$/);
    await admin.page.locator('[data-status="deregistered"]').waitFor();
    expect(await admin.page.getByText('Offline in').count()).toBe(0);
    expect(await admin.page.getByRole('heading', { name: 'Metrics' }).count()).toBe(0);
    expect(await admin.page.locator('[data-health-current]').textContent()).toMatch(/unknown/);
    await admin.context.close();
  });
});
