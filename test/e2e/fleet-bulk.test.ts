import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server';
import { registerAgent } from './agents';
import { browserAvailable, launchChromium, openSignedIn, row, unlabelledControls } from './browser';

describe.skipIf(!browserAvailable)('fleet bulk actions in Chromium', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchChromium();
    for (const name of ['bulk-a', 'bulk-b', 'bulk-c']) await registerAgent(server.url, server.enrollmentToken, { name, type: 'web_server', environment: 'staging' });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('a bulk tag with preview: two rows ticked, the preview names them, confirmed, the rows show the tag live', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.adminToken);
    await row(page, 'bulk-c').waitFor();
    await row(page, 'bulk-a').getByTestId('pick').check();
    await row(page, 'bulk-b').getByTestId('pick').check();
    await expect.poll(() => page.getByTestId('bulk-count').textContent()).toBe('2');
    expect(await unlabelledControls(page)).toEqual([]);

    await page.getByTestId('bulk-tags').fill('maint');
    await page.getByRole('button', { name: 'Add tags…' }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.getByTestId('bulk-preview').locator('li').allTextContents()).toEqual(['bulk-a', 'bulk-b']);
    expect(await dialog.getByTestId('bulk-preview-count').textContent()).toMatch(/Adds to\s+2 agents/);
    await dialog.getByTestId('bulk-confirm').click();
    await expect.poll(() => dialog.getByTestId('bulk-result').textContent()).toBe('Changed 2 of 2.');
    await dialog.getByRole('button', { name: 'Close' }).click();

    // No reload: the tags_changed events reach the rows over the live stream.
    await expect.poll(() => row(page, 'bulk-a').locator('.tags').textContent()).toContain('maint');
    await expect.poll(() => row(page, 'bulk-b').locator('.tags').textContent()).toContain('maint');
    expect(await row(page, 'bulk-c').locator('.tags').textContent()).not.toContain('maint');
    await expect.poll(() => page.getByTestId('bulk-bar').count()).toBe(0);
    await context.close();
  });

  it('a tag typed with a space is pointed out, not split; commas separate tags', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.adminToken);
    await row(page, 'bulk-c').waitFor();
    await row(page, 'bulk-c').getByTestId('pick').check();
    const input = page.getByTestId('bulk-tags');
    const add = page.getByRole('button', { name: 'Add tags…' });

    // The server takes no spaces in a tag: "needs review" is one mistyped tag, not two.
    await input.fill('needs review');
    await page.getByTestId('bulk-tags-error').waitFor();
    expect(await page.getByTestId('bulk-tags-error').textContent()).toMatch(/Tags cannot contain spaces \(“needs review”\)/);
    expect(await input.getAttribute('aria-invalid')).toBe('true');
    expect(await add.isDisabled()).toBe(true);

    await input.fill('needs-review, canary');
    await expect.poll(() => page.getByTestId('bulk-tags-error').count()).toBe(0);
    await add.click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.getByRole('heading').textContent()).toBe('Add tags: needs-review, canary');
    await expect.poll(() => dialog.getByTestId('bulk-preview').locator('li').allTextContents()).toEqual(['bulk-c']);
    await dialog.getByTestId('bulk-confirm').click();
    await expect.poll(() => dialog.getByTestId('bulk-result').textContent()).toBe('Changed 1 of 1.');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await expect.poll(() => row(page, 'bulk-c').locator('.tags').getAttribute('title')).toBe('canary, needs-review');
    await context.close();
  });

  it('viewers see no checkboxes', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.viewerToken);
    await row(page, 'bulk-a').waitFor();
    expect(await page.getByTestId('pick').count()).toBe(0);
    expect(await page.getByTestId('pick-all').count()).toBe(0);
    await context.close();
  });
});
