/**
 * `pnpm test:browser`: the playground in headless Chromium. The driver lives with the
 * playground (playground/test/browser.ts), where its dependency puppeteer-core is installed.
 */
await import('../playground/test/browser.ts');
