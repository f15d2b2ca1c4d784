import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { routeTo } from '../helpers/alerts';
import { startTestServer, type TestServer } from '../helpers/server';
import { startReceiver } from '../helpers/webhooks';
import { heartbeat, registerAgent } from './agents';
import { browserAvailable, launchChromium, openSignedIn, unlabelledControls } from './browser';

describe.skipIf(!browserAvailable)('an alert’s own page and the agent page’s alerts in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    server = await startTestServer({ env: { SWEEP_INTERVAL_MS: '100', ALERT_TICK_MS: '200', WEBHOOK_POLL_MS: '100' } });
    receiver = await startReceiver();
    await routeTo(server.url, server.adminToken, receiver.url, { name: 'e2e hook', matchers: [{ name: 'environment', value: 'e2e-detail' }] });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    await server?.close();
  });

  it('an agent stops: its page lists the alert live, the alert’s page shows the timeline and the webhook; an admin acknowledges and silences it, a viewer sees both; it resolves when the agent is back', async () => {
    const agent = await registerAgent(server.url, server.enrollmentToken, { name: 'detail-stops', environment: 'e2e-detail', heartbeatIntervalSeconds: 1 });
    const admin = await openSignedIn(browser, server.url, server.adminToken, { path: `/agents/${agent.id}` });
    await admin.page.getByRole('heading', { name: 'detail-stops' }).waitFor();
    const listed = admin.page.locator('[data-agent-alerts] li[data-alert-id]');
    await listed.first().waitFor({ timeout: 15_000 });
    expect(await listed.first().getAttribute('data-state')).toBe('FIRING');
    expect(await admin.page.locator('[data-agent-alerts]').getAttribute('data-open')).toBe('1');
    const alertId = (await listed.first().getAttribute('data-alert-id'))!;

    await listed.first().getByRole('link', { name: 'detail-stops is offline' }).click();
    await admin.page.waitForURL(new RegExp(`/dashboard/alerts/${alertId}$`));
    await admin.page.getByRole('heading', { name: 'detail-stops is offline' }).waitFor();
    await admin.page.locator('li[data-event-type="FIRING"]').waitFor();
    // The webhook is in its delivery log, read again shortly after the change (or on Refresh).
    await admin.page.locator('tr[data-delivery-id][data-status="DELIVERED"]', { hasText: 'e2e hook' }).waitFor({ timeout: 10_000 });
    expect(receiver.received.some((r) => r.json?.alerts?.some((a: any) => a.id === alertId))).toBe(true);
    expect(await unlabelledControls(admin.page)).toEqual([]);

    const viewer = await openSignedIn(browser, server.url, server.viewerToken, { path: `/alerts/${alertId}` });
    await viewer.page.locator('li[data-event-type="FIRING"]').waitFor();
    expect(await viewer.page.getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);
    expect(await viewer.page.getByRole('button', { name: /^Redeliver/ }).count()).toBe(0);

    await admin.page.getByLabel('Comment').fill('on it');
    await admin.page.getByRole('button', { name: 'Acknowledge' }).click();
    await admin.page.getByRole('button', { name: 'Unacknowledge' }).waitFor();
    await viewer.page.locator('li[data-event-type="ACKNOWLEDGED"]', { hasText: 'on it' }).waitFor({ timeout: 10_000 });
    await viewer.page.locator('[data-acknowledged-by]', { hasText: 'on it' }).waitFor();

    await admin.page.getByRole('button', { name: 'Silence for 1 h' }).click();
    await admin.page.getByRole('status').filter({ hasText: 'Silenced for 1 h' }).waitFor();
    await viewer.page.locator('li[data-event-type="SILENCED"]').waitFor({ timeout: 10_000 });
    await viewer.page.locator('.flag', { hasText: 'silenced' }).waitFor();

    await heartbeat(server.url, agent);
    await viewer.page.locator('li[data-event-type="RESOLVED"]').waitFor({ timeout: 10_000 });
    await viewer.page.locator(`header[data-state="RESOLVED"]`).waitFor();
    await admin.page.locator('li[data-event-type="RESOLVED"]').waitFor({ timeout: 10_000 });
    expect(await admin.page.getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);

    // Back on the agent page, the alert is there as resolved.
    await admin.page.getByRole('link', { name: 'detail-stops', exact: true }).click();
    await admin.page.locator(`[data-agent-alerts] li[data-alert-id="${alertId}"][data-state="RESOLVED"]`).waitFor();
    expect(await admin.page.locator('[data-agent-alerts]').getAttribute('data-open')).toBe('0');
    await admin.context.close();
    await viewer.context.close();
  });

  it('links each alert of the Alerts page to its own page, and says so for an unknown id', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.viewerToken, { path: '/alerts?state=resolved' });
    const card = page.locator('li[data-alert-id]', { hasText: 'detail-stops' }).first();
    await card.waitFor({ timeout: 10_000 });
    const id = await card.getAttribute('data-alert-id');
    await card.getByRole('link', { name: 'Details of detail-stops is offline' }).click();
    await page.waitForURL(new RegExp(`/dashboard/alerts/${id}$`));
    await page.locator('li[data-event-type="RESOLVED"]').waitFor();
    await page.goto(`${server.url}/dashboard/alerts/00000000-0000-4000-8000-000000000000`);
    await page.getByRole('heading', { name: 'Alert not found' }).waitFor();
    await context.close();
  });
});
