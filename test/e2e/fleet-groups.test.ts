import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server';
import { heartbeat, keepBeating, registerAgent, type Registered } from './agents';
import { axeFindings, browserAvailable, launchChromium, openSignedIn, row, unlabelledControls } from './browser';

const section = (page: Page, key: string) => page.locator(`section[data-group="${key}"]`);
const header = (page: Page, key: string) => section(page, key).locator('h2 > button');
const chip = (page: Page, key: string, status: string) => section(page, key).locator(`[data-group-count="${status}"]`);

describe.skipIf(!browserAvailable)('fleet grouped by environment in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let quiet: Registered;
  let stopBeating = () => {};

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchChromium();
    for (const name of ['web-a', 'web-b', 'web-c']) await registerAgent(server.url, server.enrollmentToken, { name, environment: 'production' });
    await registerAgent(server.url, server.enrollmentToken, { name: 'db-s1', environment: 'staging', type: 'database_monitor' });
    quiet = await registerAgent(server.url, server.enrollmentToken, { name: 'gw-s2', environment: 'staging', type: 'api_gateway', heartbeatIntervalSeconds: 1 });
    await heartbeat(server.url, quiet);
    stopBeating = keepBeating(server.url, quiet, 300);
  });

  afterAll(async () => {
    stopBeating();
    await browser?.close();
    await server?.close();
  });

  it('counts each group, follows an agent going offline live, opens and closes from the keyboard, and passes axe', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.adminToken, { path: '/?group=environment' });
    await expect.poll(() => chip(page, 'production', 'online').textContent()).toBe('3');
    await expect.poll(() => chip(page, 'staging', 'online').textContent()).toBe('2');
    expect(await chip(page, 'staging', 'offline').count()).toBe(0);
    // Nothing is wrong yet, so no group opens by itself.
    expect(await header(page, 'staging').getAttribute('aria-expanded')).toBe('false');
    expect(await page.locator('tr[data-agent-id]').count()).toBe(0);

    await header(page, 'staging').click();
    await row(page, 'gw-s2').waitFor();
    await expect.poll(() => page.locator('tr[data-agent-id]').count()).toBe(2);
    expect(new URL(page.url()).searchParams.getAll('open')).toEqual(['staging']);

    // The agent stops; the sweeper turns it offline and the group's counts follow, no reload.
    stopBeating();
    await expect.poll(() => chip(page, 'staging', 'offline').textContent(), { timeout: 20_000 }).toBe('1');
    await expect.poll(() => chip(page, 'staging', 'online').textContent()).toBe('1');
    await expect.poll(() => row(page, 'gw-s2').getAttribute('data-status')).toBe('OFFLINE');
    expect(await chip(page, 'production', 'online').textContent()).toBe('3');
    // Worst first: staging now has an offline agent, so it leads.
    expect(await page.locator('section[data-group]').evaluateAll((s) => s.map((e) => e.getAttribute('data-group')))).toEqual(['staging', 'production']);

    // Keyboard: Enter closes staging, Space opens production.
    await header(page, 'staging').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => header(page, 'staging').getAttribute('aria-expanded')).toBe('false');
    await expect.poll(() => row(page, 'gw-s2').count()).toBe(0);
    await header(page, 'production').focus();
    await page.keyboard.press('Space');
    await row(page, 'web-c').waitFor();
    expect(new URL(page.url()).searchParams.getAll('open')).toEqual(['production']);

    expect(await unlabelledControls(page)).toEqual([]);
    expect(await axeFindings(page)).toEqual([]);
    await context.close();
  });

  it('passes axe in the dark theme too, and on a phone the open groups list cards', async () => {
    const dark = await openSignedIn(browser, server.url, server.adminToken, { path: '/?group=environment&open=production&open=staging', colorScheme: 'dark' });
    await row(dark.page, 'web-a').waitFor();
    expect(await axeFindings(dark.page)).toEqual([]);
    await dark.context.close();

    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'light' });
    const page = await context.newPage();
    await page.goto(`${server.url}/dashboard/?group=environment&open=production#token=${server.adminToken}`);
    await page.locator('[data-connection="live"]').waitFor({ timeout: 15_000 });
    await section(page, 'production').locator('li.card', { hasText: 'web-b' }).waitFor();
    expect(await section(page, 'production').locator('li.card').count()).toBe(3);
    await header(page, 'production').click();
    await expect.poll(() => section(page, 'production').locator('li.card').count()).toBe(0);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await axeFindings(page)).toEqual([]);
    await context.close();
  });
});
