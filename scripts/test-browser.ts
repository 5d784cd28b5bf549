/**
 * `pnpm test:browser`: the playground in headless Chromium. The driver lives with the
 * playground (playground/test/browser.ts), where its dependency puppeteer-core is installed.
 *
 *   --if-available   skip (exit 0, saying so) when there is no browser; `pnpm test` runs it
 *                    this way, so CI (.ci/run installs Debian's chromium) runs the browser test
 *                    and a machine without Chromium still passes `pnpm test`
 */
import { existsSync } from 'node:fs';

const browser = process.env.CHROMIUM ?? '/usr/bin/chromium';
if (process.argv.includes('--if-available') && !existsSync(browser)) {
  console.log(`test:browser skipped: no browser at ${browser} (apt-get install chromium, or set CHROMIUM)`);
} else {
  await import('../playground/test/browser.ts');
}
