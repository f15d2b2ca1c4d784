import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server';
import { registerAgent, type Registered } from './agents';
import { browserAvailable, launchChromium, openSignedIn, row } from './browser';

/** The row height AgentTable's windowing assumes at desktop width (its ROW constant). */
const ROW = 34;
const AGENTS = 200;

/** Every rendered row: its index in the list, its name, its top and height, and its metric cell's top and bottom. */
function measureRows(page: Page) {
  return page.evaluate(() => {
    const viewport = document.querySelector<HTMLElement>('.viewport[aria-label="Agents"]')!;
    const top = viewport.getBoundingClientRect().top;
    return {
      scrollTop: viewport.scrollTop,
      rows: [...viewport.querySelectorAll<HTMLTableRowElement>('tr[data-agent-id]')].map((tr) => {
        const r = tr.getBoundingClientRect();
        const metric = tr.querySelector('td.metric')!;
        const cell = metric.getBoundingClientRect();
        return {
          index: Number(tr.getAttribute('aria-rowindex')) - 2,
          name: tr.querySelector('td.name a')!.textContent!,
          // Relative to the scrolled content's top, as the windowing reckons.
          top: r.top - top + viewport.scrollTop,
          height: r.height,
          metricTop: cell.top - top + viewport.scrollTop,
          metricBottom: cell.bottom - top + viewport.scrollTop,
          // Laid out as a table cell, as the others are: as a flex box its line was drawn a pixel off the row's (a box of the
          // same size, so only this tells).
          metricDisplay: getComputedStyle(metric).display,
        };
      }),
    };
  });
}

describe.skipIf(!browserAvailable)('fleet rows with the bulk tick-boxes in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  const agents: Registered[] = [];

  beforeAll(async () => {
    // Samples a minute or two old land in minutes already rolled up: the roll-up job takes
    // them in at its next run, so it runs often here.
    server = await startTestServer({ env: { METRICS_ROLLUP_INTERVAL_MS: '200' } });
    browser = await launchChromium();
    for (let i = 0; i < AGENTS; i++) {
      agents.push(await registerAgent(server.url, server.enrollmentToken, { name: `row-${String(i).padStart(3, '0')}` }));
    }
    // Two samples each, so every row's metric cell has a value and a sparkline.
    const now = Date.now();
    await Promise.all(
      agents.map(async (agent, i) => {
        const res = await fetch(`${server.url}/api/v1/agents/${agent.id}/metrics`, {
          method: 'POST',
          headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            metrics: [
              { name: 'cpu_percent', value: i % 100, at: new Date(now - 120_000).toISOString() },
              { name: 'cpu_percent', value: (i + 7) % 100, at: new Date(now - 60_000).toISOString() },
            ],
          }),
        });
        if (res.status !== 200) throw new Error(`metrics: ${res.status} ${await res.text()}`);
      }),
    );
    await vi.waitFor(
      async () => {
        const res = await fetch(`${server.url}/graphql`, {
          method: 'POST',
          headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            query: 'query($ids: [ID!]!) { fleetMetric(agentIds: $ids, name: "cpu_percent", sparkline: true) { sparkline { at } } }',
            variables: { ids: agents.map((a) => a.id) },
          }),
        });
        const body = (await res.json()) as { data?: { fleetMetric: Array<{ sparkline: unknown[] }> } };
        if (!body.data?.fleetMetric.every((e) => e.sparkline.length === 2)) throw new Error('sparklines not rolled up yet');
      },
      { timeout: 30_000, interval: 250 },
    );
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  for (const colorScheme of ['light', 'dark'] as const) {
    it(`an admin's rows (${colorScheme}) are the height the windowing assumes, and the metric cells stay in their rows after scrolling`, async () => {
      const { context, page } = await openSignedIn(browser, server.url, server.adminToken, { colorScheme });
      expect(page.viewportSize()).toEqual({ width: 1440, height: 900 });
      await row(page, 'row-000').locator('td.metric svg').waitFor();
      await row(page, 'row-000').getByTestId('pick').waitFor();

      const before = await measureRows(page);
      expect(before.rows.length).toBeGreaterThan(20);
      expect(before.rows.map((r) => r.height)).toEqual(before.rows.map(() => ROW));
      // Where row 0 starts: row i starts i × ROW below it.
      expect(before.rows[0].index).toBe(0);
      const origin = before.rows[0].top;

      // Far down the list, where the windowing puts row i (after a spacer of the rows above).
      await page.locator('.viewport[aria-label="Agents"]').evaluate((el, y) => (el.scrollTop = y), 150 * ROW);
      const target = 'row-160';
      await row(page, target).locator('td.metric svg').waitFor();
      const after = await measureRows(page);
      expect(after.scrollTop).toBe(150 * ROW);
      expect(after.rows.map((r) => r.height)).toEqual(after.rows.map(() => ROW));
      const misplaced = after.rows.filter(
        (r) => Math.abs(r.top - (origin + r.index * ROW)) > 1 || Math.abs(r.metricTop - r.top) > 1 || Math.abs(r.metricBottom - (r.top + r.height)) > 1,
      );
      expect(misplaced.map((r) => `${r.name}: row ${r.index} at ${r.top}–${r.top + r.height} (not ${origin + r.index * ROW}), its metric cell at ${r.metricTop}–${r.metricBottom}`)).toEqual([]);
      expect(new Set(after.rows.map((r) => r.metricDisplay))).toEqual(new Set(['table-cell']));
      const agent = after.rows.find((r) => r.name === target)!;
      expect(agent.index).toBe(160);
      expect(Math.abs(agent.metricTop - agent.top)).toBeLessThanOrEqual(1);
      await context.close();
    });
  }
});
