import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { CHROMIUM_PATH, browserAvailable } from './browser';

const dist = fileURLToPath(new URL('../../dashboard/dist/index.html', import.meta.url));

/**
 * Browser tests need Debian's Chromium. Without it they are skipped with a reason on
 * screen, except where REQUIRE_BROWSER=1 (CI), where a missing browser is a failure:
 * a green run there must mean the dashboard was really exercised.
 */
export default async function setup() {
  if (!browserAvailable) {
    const reason = `${CHROMIUM_PATH} not found (install it with: apt-get install -y chromium)`;
    if (process.env.REQUIRE_BROWSER === '1') {
      throw new Error(`REQUIRE_BROWSER=1 but the browser tests cannot run: ${reason}`);
    }
    process.stderr.write(`\n[e2e] Browser tests SKIPPED: ${reason}. Set REQUIRE_BROWSER=1 to fail instead.\n\n`);
    return;
  }
  // `npm test` builds first; a direct `vitest run` of this suite still needs a dashboard.
  if (!existsSync(dist)) {
    process.stderr.write('[e2e] dashboard/dist missing, building it…\n');
    await build({ configFile: fileURLToPath(new URL('../../dashboard/vite.config.ts', import.meta.url)), logLevel: 'warn' });
  }
}
