import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server';
import { startReceiver } from '../helpers/webhooks';
import { axeFindings, browserAvailable, launchChromium, openSignedIn, unlabelledControls } from './browser';

const TABS = ['/alerts/rules', '/alerts/silences', '/alerts/channels', '/alerts/policies'];

/** The message beside a field: the element right after the field's label. */
const besideField = (field: Locator) => field.evaluate((el) => el.closest('label')?.nextElementSibling?.textContent ?? null);

/** A `datetime-local` value in the browser's zone. */
const localInput = (page: Page, at: number) =>
  page.evaluate((t) => {
    const d = new Date(t);
    const pad = (n: number) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }, at);

describe.skipIf(!browserAvailable)('the alert settings pages in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    server = await startTestServer({ env: { WEBHOOK_POLL_MS: '100' } });
    receiver = await startReceiver();
    browser = await launchChromium();
  });

  const admin = (query: string, variables: Record<string, unknown>) =>
    fetch(`${server.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) }).then((r) => r.json());

  /** A channel with a test delivery in its log, a policy routing to it, and a silence: every settings page with rows. */
  async function seed(name: string) {
    const made = await admin('mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { channel { id } } }', { i: { name: `${name} channel`, url: receiver.urlFor(name) } });
    const channelId = made.data.createNotificationChannel.channel.id;
    await admin('mutation($id: ID!) { testNotificationChannel(id: $id) { result { ok } } }', { id: channelId });
    await admin('mutation($i: NotificationPolicyInput!) { createNotificationPolicy(input: $i) { id } }', { i: { name: `${name} policy`, channelIds: [channelId], matchers: [{ name: 'severity', value: 'critical' }] } });
    await admin('mutation($i: SilenceInput!) { createSilence(input: $i) { id } }', { i: { matchers: [{ name: 'environment', value: name }], comment: `${name} silence`, endsAt: new Date(Date.now() + 3_600_000).toISOString() } });
  }

  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    await server?.close();
  });

  it('an admin creates a channel (its secret shown once), edits its URL, tests it against a receiver, routes alerts to it by a policy and edits that, then disables and deletes it', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.adminToken, { path: '/alerts/channels' });
    await page.getByRole('heading', { name: 'Notification channels' }).waitFor();
    const create = page.getByRole('form', { name: 'New channel' });
    await create.getByLabel('Name').fill('e2e receiver');
    await create.getByLabel('URL').fill(receiver.urlFor('first'));
    await create.getByLabel('None yet (add a policy under Routing)').check();
    await create.getByRole('button', { name: 'Create channel' }).click();
    const secret = (await page.locator('[data-new-secret] [data-secret]').textContent())!.trim();
    expect(secret).toMatch(/^whsec_/);
    receiver.setSecret(secret);
    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.content()).not.toContain(secret);

    const card = page.locator('article[data-channel-id]', { hasText: 'e2e receiver' });
    await card.getByRole('button', { name: 'Edit e2e receiver' }).click();
    const edit = card.getByRole('form', { name: 'Edit channel e2e receiver' });
    await edit.getByLabel('URL').fill('ftp://127.0.0.1/nope');
    await edit.getByRole('button', { name: 'Save channel' }).click();
    await edit.locator('.err').first().waitFor();
    expect(await besideField(edit.getByLabel('URL'))).toMatch(/http/);
    await edit.getByLabel('URL').fill(receiver.urlFor('edited'));
    await edit.getByRole('button', { name: 'Save channel' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved “e2e receiver”.' }).waitFor();
    await card.getByRole('heading', { name: new RegExp(receiver.urlFor('edited')) }).waitFor();

    await card.getByRole('button', { name: 'Send test to e2e receiver' }).click();
    await page.getByRole('status').filter({ hasText: 'Test delivered (200).' }).waitFor();
    const tests = receiver.received.filter((r) => r.path === '/edited');
    expect(tests).toHaveLength(1);
    expect(tests[0].verified).toBe(true);
    await card.locator('tr[data-delivery-id][data-status="DELIVERED"]').waitFor();

    // Routing: a policy to the channel, then edited.
    await page.getByRole('link', { name: 'Routing' }).click();
    await page.getByRole('heading', { name: 'Routing policies' }).waitFor();
    const newPolicy = page.getByRole('form', { name: 'New policy' });
    await newPolicy.getByLabel('Name').fill('critical to e2e');
    await newPolicy.getByRole('button', { name: 'Add matcher' }).click();
    await newPolicy.getByLabel('Label 1').fill('severity');
    await newPolicy.getByLabel('Value 1').fill('critical');
    await newPolicy.getByLabel('e2e receiver').check();
    await newPolicy.getByRole('button', { name: 'Create policy' }).click();
    const policyRow = page.locator('tr[data-policy-id]', { hasText: 'critical to e2e' });
    await policyRow.filter({ hasText: 'severity=critical' }).waitFor();
    await policyRow.getByRole('button', { name: 'Edit critical to e2e' }).click();
    const editPolicy = page.getByRole('form', { name: 'Edit policy critical to e2e' });
    await editPolicy.getByLabel('Value 1').fill('warning');
    await editPolicy.getByLabel('Group by').fill('alertname');
    await editPolicy.getByRole('button', { name: 'Save policy' }).click();
    await policyRow.filter({ hasText: 'severity=warning' }).filter({ hasText: 'by alertname,' }).waitFor();

    await page.getByRole('link', { name: 'Channels' }).click();
    await card.getByText('Routed by critical to e2e (grouped by alertname)').waitFor();
    await card.getByRole('button', { name: 'Disable e2e receiver' }).click();
    await page.locator('article[data-channel-id][data-enabled="false"]', { hasText: 'e2e receiver' }).waitFor();
    await card.getByRole('button', { name: 'Delete e2e receiver' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete e2e receiver?' });
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('status').filter({ hasText: 'Deleted “e2e receiver”.' }).waitFor();
    expect(await card.count()).toBe(0);
    await context.close();
  }, 120_000);

  it('an admin creates a silence that starts later, sees it pending, and edits it', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.adminToken, { path: '/alerts/silences' });
    const create = page.getByRole('form', { name: 'New silence' });
    await create.getByLabel('Value 1').fill('e2e-later');
    await create.getByLabel('Comment').fill('upgrade later');
    await create.getByLabel('Starts').fill(await localInput(page, Date.now() + 50 * 3_600_000));
    await create.getByLabel('Hours').fill('3');
    await create.getByRole('button', { name: 'Create silence' }).click();
    const item = page.locator('li[data-silence-id]', { hasText: 'environment=e2e-later' });
    await item.waitFor();
    expect(await item.getAttribute('data-state')).toBe('pending');
    expect(await item.textContent()).toContain('pending · starts in 2 d');

    await item.getByRole('button', { name: 'Edit upgrade later' }).click();
    const edit = item.getByRole('form', { name: 'Edit silence upgrade later' });
    expect(await edit.getByLabel('Hours').inputValue()).toBe('3');
    await edit.getByLabel('Comment').fill('upgrade moved');
    await edit.getByLabel('Hours').fill('4');
    await edit.getByRole('button', { name: 'Save silence' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved the silence “upgrade moved”.' }).waitFor();
    const moved = page.locator('li[data-silence-id][data-state="pending"]', { hasText: 'upgrade moved' });
    await moved.waitFor();
    expect(await page.locator('li[data-silence-id]', { hasText: 'e2e-later' }).count()).toBe(1);
    await context.close();
  });

  it('a silence that starts now is active at once, and one that starts in a few seconds turns active when it starts', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.adminToken, { path: '/alerts/silences' });
    const create = page.getByRole('form', { name: 'New silence' });
    // The page has been open a while: what it shows must not lag behind by that.
    await page.waitForTimeout(3_000);
    await create.getByLabel('Value 1').fill('e2e-now');
    await create.getByLabel('Comment').fill('starts now');
    await create.getByRole('button', { name: 'Create silence' }).click();
    const now = page.locator('li[data-silence-id]', { hasText: 'environment=e2e-now' });
    await now.waitFor();
    expect(await now.getAttribute('data-state')).toBe('active');

    await create.getByLabel('Value 1').fill('e2e-soon');
    await create.getByLabel('Comment').fill('starts soon');
    await create.getByLabel('Starts').fill(await localInput(page, Date.now() + 62_000));
    await create.getByRole('button', { name: 'Create silence' }).click();
    const soon = page.locator('li[data-silence-id]', { hasText: 'environment=e2e-soon' });
    await soon.waitFor();
    expect(await soon.getAttribute('data-state')).toBe('pending');
    await expect.poll(() => soon.getAttribute('data-state'), { timeout: 70_000, interval: 1_000 }).toBe('active');
    await context.close();
  }, 120_000);

  it('an admin submits a rule with bad fields and sees each error once, beside its field', async () => {
    const { context, page } = await openSignedIn(browser, server.url, server.adminToken, { path: '/alerts/rules' });
    await page.getByRole('button', { name: 'New rule' }).click();
    const form = page.getByRole('form', { name: 'New rule' });
    await form.getByLabel('Name').fill('bad metric');
    await form.getByLabel('Kind').selectOption('METRIC_THRESHOLD');
    await form.getByLabel('Metric', { exact: true }).fill('cpu percent');
    await form.getByLabel('Tags').fill('bad tag');
    await form.getByRole('button', { name: 'Create rule' }).click();
    await form.getByRole('alert').filter({ hasText: 'The rule was not saved: see the fields marked.' }).waitFor();
    const metric = form.getByLabel('Metric', { exact: true });
    expect(await metric.getAttribute('aria-invalid')).toBe('true');
    expect(await besideField(metric)).toMatch(/is not a metric name/);
    expect(await besideField(form.getByLabel('Tags'))).toMatch(/may hold letters, digits/);
    // Not repeated at the foot of the Condition or Agents fieldset.
    expect(await form.locator('.err', { hasText: 'is not a metric name' }).count()).toBe(1);
    expect(await form.locator('.err', { hasText: 'may hold letters, digits' }).count()).toBe(1);
    await context.close();
  });

  it.each(['light', 'dark'] as const)('axe finds nothing serious or critical on the settings pages (%s), and every control is labelled', async (colorScheme) => {
    await seed(`axe-${colorScheme}`);
    const { context, page } = await openSignedIn(browser, server.url, server.adminToken, { path: '/alerts/rules', colorScheme });
    for (const path of TABS) {
      await page.goto(`${server.url}/dashboard${path}`);
      await page.locator('[data-connection="live"]').waitFor();
      await page.locator('main h1').waitFor();
      await page.waitForTimeout(300);
      expect({ colorScheme, path, findings: await axeFindings(page) }).toEqual({ colorScheme, path, findings: [] });
      expect({ path, unlabelled: await unlabelledControls(page) }).toEqual({ path, unlabelled: [] });
    }
    await context.close();
  });

  it('a viewer sees the settings pages with no editing controls', async () => {
    await seed('viewer');
    const { context, page } = await openSignedIn(browser, server.url, server.viewerToken, { path: '/alerts/rules' });
    for (const [path, content] of [
      ['/alerts/rules', 'tr[data-rule-id]'],
      ['/alerts/silences', 'li[data-silence-id]'],
      ['/alerts/channels', 'article[data-channel-id]'],
      ['/alerts/policies', 'tr[data-policy-id]'],
    ]) {
      await page.goto(`${server.url}/dashboard${path}`);
      await page.locator('[data-connection="live"]').waitFor();
      await page.locator(`main ${content}`).first().waitFor();
      expect({ path, buttons: await page.locator('main button').count(), forms: await page.locator('main form').count(), inputs: await page.locator('main input, main select').count() }).toEqual({ path, buttons: 0, forms: 0, inputs: 0 });
    }
    await context.close();
  });
});
