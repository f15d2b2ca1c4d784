import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server';
import { registerAgent, type Registered } from './agents';
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
    await admin.context.close();
  });
});
