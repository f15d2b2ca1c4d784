import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server';
import { registerAgent, type Registered } from './agents';
import { browserAvailable, launchChromium, openSignedIn, row } from './browser';

async function push(baseUrl: string, agent: Registered, metrics: unknown[]) {
  const res = await fetch(`${baseUrl}/api/v1/agents/${agent.id}/metrics`, {
    method: 'POST',
    headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ metrics }),
  });
  if (res.status !== 200) throw new Error(`push: ${res.status} ${await res.text()}`);
}

const screenshots = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));

describe.skipIf(!browserAvailable)('metrics in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let agent: Registered;

  beforeAll(async () => {
    server = await startTestServer({ env: { METRICS_FEED_MS: '100' } });
    browser = await launchChromium();
    agent = await registerAgent(server.url, server.enrollmentToken, { name: 'charted', type: 'api_gateway' });
    // The last 40 minutes, one sample a minute, with a 10-minute gap in the middle.
    const now = Date.now();
    const samples = [];
    for (let m = 40; m >= 1; m--) {
      if (m > 15 && m <= 25) continue;
      const at = new Date(now - m * 60_000).toISOString();
      samples.push({ name: 'cpu_percent', value: 30 + 20 * Math.sin(m / 5), at });
      samples.push({ name: 'memory_used_bytes', value: 2.1e9 + m * 1e7, at });
      samples.push({ name: 'net_rx_bytes_total', value: (40 - m) * 6e6, at });
    }
    await push(server.url, agent, samples);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('charts every metric the agent pushes, CPU and memory first, with units and a live tail', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.viewerToken, { path: `/agents/${agent.id}` });
    await page.locator('section[data-metric="cpu_percent"] canvas').waitFor();
    const order = await page.locator('section[data-metric]').evaluateAll((els) => els.map((e) => e.getAttribute('data-metric')));
    expect(order).toEqual(['cpu_percent', 'memory_used_bytes', 'net_rx_bytes_total']);
    // Hovering shows the value under the cursor, in the series' unit: a counter of bytes in bytes per second.
    const hover = async (metric: string, x: number) => {
      const box = (await page.locator(`section[data-metric="${metric}"] .u-over`).boundingBox())!;
      await page.mouse.move(box.x + box.width * x, box.y + box.height / 2);
      return () => page.locator(`section[data-metric="${metric}"] .u-legend`).innerText();
    };
    await expect.poll(await hover('cpu_percent', 0.3)).toMatch(/cpu_percent\s*:?\s*[\d.]+ %/);
    await expect.poll(await hover('memory_used_bytes', 0.3)).toMatch(/[\d.]+ GB/);
    await expect.poll(await hover('net_rx_bytes_total', 0.3)).toMatch(/100 kB\/s/);

    // A pushed sample joins the chart without a reload.
    await push(server.url, agent, [{ name: 'cpu_percent', value: 99.5 }]);
    await expect.poll(async () => (await hover('cpu_percent', 0.999))(), { timeout: 10_000 }).toMatch(/99\.5 %/);

    await page.getByRole('button', { name: '7 d' }).click();
    await expect.poll(() => page.getByTestId('metrics-resolution').innerText()).toMatch(/minute data, 660 s step/);
    await context.close();
  });

  it('takes screenshots of the charts in light and dark', async () => {
    mkdirSync(screenshots, { recursive: true });
    for (const colorScheme of ['light', 'dark'] as const) {
      const { context, page } = await openSignedIn(browser, server.url, server.viewerToken, { path: `/agents/${agent.id}`, colorScheme });
      await page.setViewportSize({ width: 1400, height: 900 });
      await page.locator('section[data-metric="net_rx_bytes_total"] canvas').waitFor();
      await page.locator('#metrics-h').scrollIntoViewIfNeeded();
      await page.locator('section[aria-labelledby="metrics-h"]').screenshot({ path: `${screenshots}metrics-${colorScheme}.png` });
      await context.close();
    }
  });

  it('shows how to push when the agent has pushed nothing', async () => {
    const silent = await registerAgent(server.url, server.enrollmentToken, { name: 'silent' });
    const { context, page } = await openSignedIn(browser, server.url, server.viewerToken, { path: `/agents/${silent.id}` });
    const empty = page.getByTestId('metrics-empty');
    await empty.waitFor();
    expect(await empty.innerText()).toContain(`curl -X POST ${server.url}/api/v1/agents/${silent.id}/metrics`);
    await context.close();
  });

  it('shows the chosen metric’s latest value and sparkline per fleet row, and sorts by it', async () => {
    const hot = await registerAgent(server.url, server.enrollmentToken, { name: 'hot-one' });
    await push(server.url, hot, [{ name: 'cpu_percent', value: 100 }]);
    const { context, page } = await openSignedIn(browser, server.url, server.viewerToken);
    await expect.poll(() => row(page, 'hot-one').locator('td.metric').innerText(), { timeout: 10_000 }).toMatch(/100 %/);
    await row(page, 'charted').locator('td.metric svg path').waitFor();
    await page.getByRole('button', { name: /cpu_percent/ }).click();
    await expect.poll(() => page.locator('tbody tr[data-agent-id]').first().getAttribute('data-agent-id')).toBe(hot.id);
    await context.close();
  });

  it('keeps the metric column and the order by it in the URL: reload, back and a shared link restore them', async () => {
    for (const [name, bytes] of [['mem-low', 1e9], ['mem-high', 8e9]] as const) {
      await push(server.url, await registerAgent(server.url, server.enrollmentToken, { name }), [{ name: 'memory_used_bytes', value: bytes }]);
    }
    const names = (page: Page) => page.locator('tbody tr[data-agent-id] td:nth-child(3)').allTextContents();
    const metricHeader = (page: Page) => page.locator('thead th', { has: page.getByRole('button', { name: /memory_used_bytes/ }) });
    const { context, page } = await openSignedIn(browser, server.url, server.viewerToken);
    await row(page, 'mem-high').waitFor();
    await page.getByLabel('Metric column').selectOption('memory_used_bytes');
    await expect.poll(() => new URL(page.url()).search).toBe('?metric=memory_used_bytes');
    await page.getByRole('button', { name: /memory_used_bytes/ }).click();
    await expect.poll(() => new URL(page.url()).search).toBe('?metric=memory_used_bytes&metricsort=desc');
    await expect.poll(async () => (await names(page)).slice(0, 3)).toEqual(['mem-high', 'charted', 'mem-low']);

    await page.reload();
    await page.locator('[data-connection="live"]').waitFor();
    expect(await page.getByLabel('Metric column').inputValue()).toBe('memory_used_bytes');
    await expect.poll(() => metricHeader(page).getAttribute('aria-sort')).toBe('descending');
    await expect.poll(async () => (await names(page)).slice(0, 3)).toEqual(['mem-high', 'charted', 'mem-low']);
    await expect.poll(() => row(page, 'mem-high').locator('td.metric').getAttribute('data-metric-value')).toBe('8000000000');

    await page.goBack();
    await expect.poll(() => new URL(page.url()).search).toBe('?metric=memory_used_bytes');
    await expect.poll(() => metricHeader(page).getAttribute('aria-sort')).toBeNull();
    expect(await page.getByLabel('Metric column').inputValue()).toBe('memory_used_bytes');
    await context.close();

    const shared = await openSignedIn(browser, server.url, server.viewerToken, { path: '/?metric=memory_used_bytes&metricsort=asc' });
    await expect.poll(() => metricHeader(shared.page).getAttribute('aria-sort')).toBe('ascending');
    expect(await shared.page.getByLabel('Metric column').inputValue()).toBe('memory_used_bytes');
    await expect.poll(async () => (await names(shared.page)).slice(0, 3)).toEqual(['mem-low', 'charted', 'mem-high']);
    await shared.context.close();
  });
});
