import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server';
import { registerAgent } from './agents';
import { browserAvailable, launchChromium, openSignedIn, unlabelledControls } from './browser';

describe.skipIf(!browserAvailable)('the Alerts page in Chromium', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer({ env: { SWEEP_INTERVAL_MS: '100', ALERT_TICK_MS: '200' } });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('an agent stops, its alert appears live with the header badge; an operator acknowledges it and a second browser sees it', async () => {
    const admin = await openSignedIn(browser, server.url, server.adminToken, { path: '/alerts' });
    const viewer = await openSignedIn(browser, server.url, server.viewerToken, { path: '/alerts' });
    await admin.page.getByRole('heading', { name: 'Alerts' }).waitFor();
    await admin.page.locator('[data-alert-badge][data-firing="0"]').waitFor();

    await registerAgent(server.url, server.enrollmentToken, { name: 'stops-soon', heartbeatIntervalSeconds: 1 });
    const card = (page: typeof admin.page) => page.locator(`li[data-alert-id]`, { hasText: 'stops-soon' });
    await card(admin.page).waitFor({ timeout: 15_000 });
    await card(viewer.page).waitFor({ timeout: 15_000 });
    expect(await card(admin.page).getAttribute('data-state')).toBe('FIRING');
    await admin.page.locator('[data-alert-badge] [data-severity="critical"]', { hasText: '1' }).waitFor();
    expect(await unlabelledControls(admin.page)).toEqual([]);
    // A viewer sees no editing controls.
    expect(await card(viewer.page).getByRole('button').count()).toBe(0);

    // From the keyboard: Enter in the comment acknowledges, and focus moves to Unacknowledge.
    await card(admin.page).getByLabel('Comment for stops-soon').fill('looking into it');
    await card(admin.page).getByLabel('Comment for stops-soon').press('Enter');
    await card(admin.page).locator('[data-acknowledged-by]').waitFor();
    await expect.poll(() => admin.page.evaluate(() => document.activeElement?.textContent)).toBe('Unacknowledge');
    await card(viewer.page).locator('.ack', { hasText: 'looking into it' }).waitFor({ timeout: 10_000 });
    expect(await card(viewer.page).getAttribute('data-acknowledged')).toBe('true');
    await admin.context.close();
    await viewer.context.close();
  });

  it('keeps its filters in the URL and silences from the page in one click', async () => {
    await registerAgent(server.url, server.enrollmentToken, { name: 'to-silence', heartbeatIntervalSeconds: 1 });
    const { context, page } = await openSignedIn(browser, server.url, server.adminToken, { path: '/alerts?severity=critical' });
    const card = page.locator('li[data-alert-id]', { hasText: 'to-silence' });
    await card.waitFor({ timeout: 15_000 });
    await page.getByLabel('warning', { exact: true }).check();
    await page.waitForURL(/severity=critical%2Cwarning|severity=critical,warning/);
    await card.getByRole('button', { name: 'Silence to-silence for 1 h' }).click();
    await page.reload();
    await page.locator('[data-connection="live"]').waitFor();
    await page.locator('li[data-alert-id]', { hasText: 'to-silence' }).locator('.flag', { hasText: 'silenced' }).waitFor({ timeout: 10_000 });
    await page.goto(`${server.url}/dashboard/alerts/silences`);
    await page.locator('li[data-silence-id]', { hasText: 'alertname=Agent offline' }).waitFor();
    await context.close();
  });
});
