import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server';
import { heartbeat, keepBeating, registerAgent, type Registered } from './agents';
import { browserAvailable, launchChromium, openSignedIn, row, unlabelledControls } from './browser';

const SCREENSHOTS = new URL('../../docs/screenshots/', import.meta.url);

describe.skipIf(!browserAvailable)('fleet page in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  const seeded: Registered[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchChromium();
    const seeds = [
      { name: 'web-alpha', type: 'web_server', environment: 'production' },
      { name: 'db-primary', type: 'database_monitor', environment: 'production' },
      { name: 'gw-edge', type: 'api_gateway', environment: 'staging' },
      { name: 'cache-eu', type: 'cache_monitor', environment: 'staging' },
      { name: 'scanner-1', type: 'security_scanner', environment: 'development' },
      { name: 'logs-ingest', type: 'log_processor', environment: 'production' },
    ];
    for (const s of seeds) seeded.push(await registerAgent(server.url, server.enrollmentToken, s));
    await heartbeat(server.url, seeded[1], 'degraded');
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('signs in through #token=, keeps the token in localStorage and drops it from the address bar', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.adminToken);
    expect(new URL(page.url()).hash).toBe('');
    expect(await page.evaluate(() => localStorage.getItem('agent-monitor.token'))).toBe(server.adminToken);
    await page.reload();
    await page.locator('[data-connection="live"]').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Access token').waitFor();
    expect(await page.evaluate(() => localStorage.getItem('agent-monitor.token'))).toBeNull();
    await context.close();
  });

  it('the sign-in form refuses a wrong token and an agent token with a message, and accepts a right one', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await page.getByLabel('Access token').fill('not-a-real-token-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor();
    await page.getByLabel('Access token').fill(seeded[0].token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'an agent token' }).waitFor();
    await page.getByLabel('Access token').fill(server.viewerToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('[data-connection="live"]').waitFor();
    await row(page, 'web-alpha').waitFor();
    expect(new URL(page.url()).pathname).toBe('/dashboard/');
    await context.close();
  });

  it('a wrong token refused over HTTP before the socket refuses it leaves the message and no uncaught error', async () => {
    const context = await browser.newContext();
    // The socket's refusal arrives after the HTTP one, as it usually does: the session is
    // torn down while its socket is still connecting.
    await context.routeWebSocket(/\/graphql$/, (ws) => {
      const upstream = ws.connectToServer();
      upstream.onMessage((m) => setTimeout(() => ws.send(m), 300));
      upstream.onClose((code, reason) => setTimeout(() => ws.close({ code, reason }), 300));
    });
    const page = await context.newPage();
    const uncaught: string[] = [];
    page.on('pageerror', (e) => uncaught.push(`${e.name}: ${e.message}`));
    page.on('console', (m) => {
      // The browser's own line for each refused request is expected; anything else is not.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) uncaught.push(m.text());
    });
    await page.goto(`${server.url}/`);
    await page.getByLabel('Access token').fill('not-a-real-token-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'That token was not accepted.' }).waitFor();
    // Past the socket's delayed refusal.
    await page.waitForTimeout(1_000);
    expect(uncaught).toEqual([]);
    expect(await page.getByRole('alert').textContent()).toBe('That token was not accepted. Sign in again.');
    await context.close();
  });

  it('shows every seeded agent with its status, and the status counts', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.viewerToken);
    for (const a of seeded) await row(page, a.name).waitFor();
    await expect.poll(() => row(page, 'db-primary').getAttribute('data-status')).toBe('DEGRADED');
    await expect.poll(() => page.locator('[data-count="total"]').textContent()).toBe(String(seeded.length));
    await expect.poll(() => page.locator('[data-count="degraded"]').textContent()).toBe('1');
    await expect.poll(() => row(page, 'web-alpha').textContent()).toContain('web-alpha.example.internal:8080');
    await context.close();
  });

  it('a newly registered agent appears without a reload', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.viewerToken);
    await row(page, 'web-alpha').waitFor();
    await page.evaluate(() => ((window as unknown as { __marker: number }).__marker = 1));
    const fresh = await registerAgent(server.url, server.enrollmentToken, { name: 'arrived-live', type: 'web_server' });
    seeded.push(fresh);
    await row(page, 'arrived-live').waitFor({ timeout: 10_000 });
    // Same document: the marker set before registration is still there.
    expect(await page.evaluate(() => (window as unknown as { __marker?: number }).__marker)).toBe(1);
    await context.close();
  });

  it('an agent that stops heartbeating turns offline on screen', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.viewerToken);
    const flaky = await registerAgent(server.url, server.enrollmentToken, { name: 'goes-quiet', heartbeatIntervalSeconds: 1 });
    seeded.push(flaky);
    const stop = keepBeating(server.url, flaky, 400);
    try {
      await heartbeat(server.url, flaky);
      await expect.poll(() => row(page, 'goes-quiet').getAttribute('data-status'), { timeout: 10_000 }).toBe('ONLINE');
      // Heartbeats are pushed to the rows on screen, so the row shows a time.
      const lastHeartbeat = row(page, 'goes-quiet').locator('td').nth(8);
      await expect.poll(() => lastHeartbeat.textContent(), { timeout: 15_000 }).toMatch(/ago|just now/);
    } finally {
      stop();
    }
    // Three missed 1 s intervals plus the sweeper: a few seconds, with no reload.
    await expect.poll(() => row(page, 'goes-quiet').getAttribute('data-status'), { timeout: 15_000 }).toBe('OFFLINE');
    await context.close();
  });

  it('filters and sort live in the URL and survive a reload', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.viewerToken);
    await row(page, 'web-alpha').waitFor();
    await page.getByLabel('Environment').selectOption('staging');
    await page.getByLabel('Sort by').selectOption('NAME');
    await page.getByRole('button', { name: '↑ asc' }).click();
    await expect.poll(() => new URL(page.url()).search).toBe('?env=staging&sort=name&dir=desc');
    await expect.poll(() => page.locator('tr[data-agent-id]').count()).toBe(2);
    await page.reload();
    await page.locator('[data-connection="live"]').waitFor();
    await expect.poll(() => page.locator('tr[data-agent-id] td:nth-child(3)').allTextContents()).toEqual(['gw-edge', 'cache-eu']);
    expect(await page.getByLabel('Environment').inputValue()).toBe('staging');
    await page.goBack();
    await expect.poll(() => new URL(page.url()).search).toBe('?env=staging&sort=name');
    await expect.poll(() => page.locator('tr[data-agent-id] td:nth-child(3)').allTextContents()).toEqual(['cache-eu', 'gw-edge']);
    await context.close();
  });

  it('keeps a search still being typed when another filter changes meanwhile, and applies both', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.viewerToken);
    await row(page, 'web-alpha').waitFor();
    const search = page.getByLabel('Search agents');
    // Picked within the search's 300 ms pause: the typed text must survive the URL change.
    await search.fill('cache');
    await page.getByLabel('Environment').selectOption('staging');
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('cache');
    expect(new URL(page.url()).searchParams.get('env')).toBe('staging');
    expect(await search.inputValue()).toBe('cache');
    await expect.poll(() => page.locator('tr[data-agent-id] td:nth-child(3)').allTextContents()).toEqual(['cache-eu']);
    // Cleared, then another filter at once: the search stays cleared.
    await search.fill('');
    await page.getByLabel('Environment').selectOption('');
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBeNull();
    expect(await search.inputValue()).toBe('');
    await context.close();
  });

  it('works from the keyboard, and every control has a name', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.adminToken);
    await row(page, 'web-alpha').waitFor();
    expect(await unlabelledControls(page)).toEqual([]);
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toContain('Skip to content');
    // Tab order reaches the status cards; Enter toggles one like a click.
    for (let i = 0; i < 12; i++) {
      const name = await page.evaluate(() => document.activeElement?.textContent ?? '');
      if (/offline/i.test(name) && (await page.evaluate(() => document.activeElement?.tagName)) === 'BUTTON') break;
      await page.keyboard.press('Tab');
    }
    await page.keyboard.press('Enter');
    await expect.poll(() => new URL(page.url()).search).toBe('?status=offline');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-pressed'))).toBe('true');
    await context.close();
  });

  it('saves screenshots of the fleet page in light and dark', async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    for (const scheme of ['light', 'dark'] as const) {
      const { context, page } = await openSignedIn(browser, server.url, server.adminToken, { colorScheme: scheme });
      await row(page, 'web-alpha').waitFor();
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      // The dark palette's background is near-black, the light one near-white.
      const [r] = bg.match(/\d+/g)!.map(Number);
      expect(scheme === 'dark' ? r < 60 : r > 200).toBe(true);
      await page.screenshot({ path: new URL(`fleet-${scheme}.png`, SCREENSHOTS).pathname });
      await context.close();
    }
  });

  // After the screenshots, so they keep the usual names.
  it('at 1440 × 900 the table fits the page with the longest names, the tick and the metric columns: long text is cut short, not scrolled to', async () => {
    const long = await registerAgent(server.url, server.enrollmentToken, {
      name: 'payments-gateway-eu-west-primary-0001',
      type: 'security_scanner_extended',
      environment: 'production-eu-west',
      host: 'payments-gateway-eu-west-primary-0001.internal.example.com',
      port: 65535,
    });
    const res = await fetch(`${server.url}/api/v1/agents/${long.id}/metrics`, {
      method: 'POST',
      headers: { authorization: `Bearer ${long.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ metrics: [{ name: 'cpu_percent', value: 42 }] }),
    });
    expect(res.status).toBe(200);
    const { context, page } = await openSignedIn(browser, server.url, server.adminToken);
    expect(page.viewportSize()).toEqual({ width: 1440, height: 900 });
    await row(page, long.name).locator('td.metric[data-metric-value="42"]').waitFor();
    await row(page, long.name).getByTestId('pick').waitFor();
    const overflow = await page.evaluate(() => {
      const viewport = document.querySelector<HTMLElement>('.viewport[aria-label="Agents"]')!;
      const html = document.documentElement;
      return { page: html.scrollWidth - html.clientWidth, table: viewport.scrollWidth - viewport.clientWidth };
    });
    expect(overflow).toEqual({ page: 0, table: 0 });
    // The name is cut short in its cell, and whole in its tooltip.
    const name = row(page, long.name).getByRole('link', { name: long.name });
    expect(await name.getAttribute('title')).toBe(long.name);
    await context.close();
  });
});
