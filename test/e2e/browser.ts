import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type Page, type WebSocketRoute } from 'playwright-core';

/**
 * Debian's Chromium; the project never downloads a browser of its own. E2E_CHROMIUM_PATH
 * exists only to rehearse the no-browser path (skip, or fail under REQUIRE_BROWSER=1).
 */
export const CHROMIUM_PATH = process.env.E2E_CHROMIUM_PATH || '/usr/bin/chromium';
export const browserAvailable = existsSync(CHROMIUM_PATH);

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * Playwright gives every launch a fresh temporary user-data-dir and removes it on close,
 * so no profile, cache or stored token leaks from one run into the next.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

export interface SignedInPage {
  context: BrowserContext;
  page: Page;
}

/** Opens the dashboard through the sign-in link the server prints, and waits for live. */
export async function openSignedIn(
  browser: Browser,
  baseUrl: string,
  token: string,
  opts: { path?: string; colorScheme?: 'light' | 'dark' } = {},
): Promise<SignedInPage> {
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    colorScheme: opts.colorScheme ?? 'light',
  });
  const page = await context.newPage();
  await page.goto(`${baseUrl}/dashboard${opts.path ?? '/'}#token=${token}`);
  await page.locator('[data-connection="live"]').waitFor({ timeout: 15_000 });
  return { context, page };
}

export const row = (page: Page, name: string) => page.locator('tr[data-agent-id]', { hasText: name });

/**
 * Controls without an accessible name, by a deliberately simple rule: a <label>, an
 * aria-label/labelledby, or visible text. Returns their outerHTML for the failure message.
 */
export function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll('button, input, select, textarea, a[href]')]
      .filter((el) => {
        const e = el as HTMLInputElement;
        if (e.type === 'hidden' || e.closest('[hidden], dialog:not([open])')) return false;
        const named =
          (e.labels && e.labels.length > 0) ||
          e.getAttribute('aria-label') ||
          e.getAttribute('aria-labelledby') ||
          (e.textContent ?? '').trim();
        return !named;
      })
      .map((el) => el.outerHTML.slice(0, 120)),
  );
}

/**
 * Routes the context's /graphql socket through Playwright, so a test can cut it and
 * refuse new ones until it restores them, as a restarting server or a flaky network would.
 */
export async function cuttableSocket(context: BrowserContext): Promise<{ cut(): Promise<void>; restore(): void }> {
  let down = false;
  let live: WebSocketRoute | undefined;
  await context.routeWebSocket(/\/graphql$/, (ws) => {
    if (down) return void ws.close({ code: 1012, reason: 'service restart' });
    live = ws;
    ws.connectToServer();
  });
  return {
    async cut() {
      down = true;
      await live!.close({ code: 1012, reason: 'service restart' });
    },
    restore() {
      down = false;
    },
  };
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  nodes: Array<{ target: unknown[] }>;
}

/** Injects axe-core into the page and returns its serious and critical findings (id: selectors). */
export async function axeFindings(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: AXE_SOURCE });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}
