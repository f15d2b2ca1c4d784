import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { registerRest } from '../helpers/agents';
import { startTestServer, type TestServer } from '../helpers/server';
import { browserAvailable, launchChromium, openSignedIn, unlabelledControls } from './browser';

describe.skipIf(!browserAvailable)('the API keys page in Chromium', () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('an admin lists the keys, creates one (its secret shown once, with a copy button), and revokes it', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.adminToken);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await page.locator('tr[data-key-name="ADMIN_TOKEN"]').waitFor();
    expect(await page.locator('tr[data-key-name]').count()).toBe(3);
    expect(await page.content()).not.toContain(server.adminToken);

    await page.getByLabel('Name').fill('ci-enroll');
    await page.getByLabel('Role').selectOption('ENROLLMENT');
    await page.getByLabel('Default tags').fill('ci, build');
    await page.getByLabel('Environment').fill('staging');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.locator('[data-new-secret] [data-secret]').textContent())!.trim();
    expect(secret).toMatch(/^am_enroll_/);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.locator('[data-copied]').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    const keyRow = page.locator('tr[data-key-name="ci-enroll"]');
    await keyRow.waitFor();
    expect(await keyRow.textContent()).toContain('environment staging; tags build, ci');
    expect(await unlabelledControls(page)).toEqual([]);

    // The secret works, with the key's defaults; once dismissed it is gone from the page.
    const reg = await registerRest(server.url, secret, { name: 'enrolled-from-the-page', environment: undefined });
    expect(reg.status).toBe(201);
    expect(reg.body).toMatchObject({ environment: 'staging', tags: ['build', 'ci'] });
    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.content()).not.toContain(secret);

    page.once('dialog', (dialog) => dialog.accept());
    await keyRow.getByRole('button', { name: 'Revoke ci-enroll' }).click();
    await page.locator('[data-message]', { hasText: 'Revoked "ci-enroll"' }).waitFor();
    await keyRow.waitFor({ state: 'detached' });
    expect((await registerRest(server.url, secret, { name: 'after-revocation' })).status).toBe(401);
    await page.getByLabel('Show revoked keys').check();
    await page.locator('tr[data-key-name="ci-enroll"][data-key-state="REVOKED"]').waitFor();
    await context.close();
  });

  it('default tags: one typed with a space is pointed out and the key is not created until it is fixed; commas separate tags', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.adminToken, { path: '/keys' });
    await page.getByLabel('Name').fill('tagged-enroll');
    await page.getByLabel('Role').selectOption('ENROLLMENT');
    const input = page.getByLabel('Default tags');
    const create = page.getByRole('button', { name: 'Create key' });

    // The server takes no spaces in a tag: "needs review" is one mistyped tag, not two.
    await input.fill('canary, needs review');
    await expect.poll(() => page.getByTestId('key-tags-error').count()).toBe(1);
    expect(await page.getByTestId('key-tags-error').textContent()).toMatch(/Tags cannot contain spaces \(“needs review”\)/);
    expect(await input.getAttribute('aria-invalid')).toBe('true');
    expect(await create.isDisabled()).toBe(true);
    await input.press('Enter');
    expect(await page.locator('[data-new-secret]').count()).toBe(0);

    await input.fill('canary, needs-review');
    await expect.poll(() => page.getByTestId('key-tags-error').count()).toBe(0);
    expect(await input.getAttribute('aria-invalid')).toBe('false');
    await create.click();
    const secret = (await page.locator('[data-new-secret] [data-secret]').textContent())!.trim();
    await page.locator('tr[data-key-name="tagged-enroll"]', { hasText: 'tags canary, needs-review' }).waitFor();
    const reg = await registerRest(server.url, secret, { name: 'enrolled-with-tags' });
    expect(reg.status).toBe(201);
    expect(reg.body).toMatchObject({ tags: ['canary', 'needs-review'] });
    await context.close();
  });

  it('a bad form is answered next to its fields', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.adminToken, { path: '/keys' });
    await page.getByLabel('Name').fill('VIEWER_TOKEN');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.locator('.err', { hasText: 'already named "VIEWER_TOKEN"' }).waitFor();
    await context.close();
  });

  it('a viewer sees no link and is told only admins manage keys', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.viewerToken, { path: '/keys' });
    await page.getByText('Only admins manage API keys').waitFor();
    expect(await page.getByRole('link', { name: 'API keys' }).count()).toBe(0);
    expect(await page.locator('tr[data-key-name]').count()).toBe(0);
    await context.close();
  });
});
