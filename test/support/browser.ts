/**
 * A real browser for the e2e tests: Debian's chromium driven by playwright-core (no browser download),
 * the local issuer's development login form, axe-core checks and screenshots.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.resolve(__dirname, '..', 'e2e', 'screenshots');

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(`No chromium at ${CHROMIUM_PATH}: the e2e tests drive Debian's chromium. Install it (apt-get update && apt-get install -y chromium) or set CHROMIUM_PATH.`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox'] });
}

export interface OpenedPage {
  page: Page;
  context: BrowserContext;
  /** Console errors and uncaught page errors seen so far (a CSP violation is one), for `expect(...).toEqual([])`. */
  problems: string[];
}

/** A fresh context (nothing shared with other tests: no storage, no cookies) under the page's real CSP. */
export async function openPage(browser: Browser, opts: { locale?: string } = {}): Promise<OpenedPage> {
  const context = await browser.newContext({ locale: opts.locale ?? 'en-GB', viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return { page, context, problems };
}

export interface SignInChoice {
  tenant: string;
  person: string;
  rightsSet: string;
  kind?: 'user' | 'support';
}

/**
 * Fills and submits the local issuer's development login form. Call it once the page is on the form
 * (the app sent the browser to `<issuer>/authorize`); it returns when the browser has left the issuer.
 */
export async function signIn(page: Page, choice: SignInChoice): Promise<void> {
  await page.waitForURL((url) => url.pathname === '/authorize');
  const issuerOrigin = new URL(page.url()).origin;
  await page.getByLabel('Tenant', { exact: true }).fill(choice.tenant);
  await page.getByLabel('Person', { exact: true }).fill(choice.person);
  await page.getByLabel('Rights set', { exact: true }).selectOption(choice.rightsSet);
  await page.getByLabel(choice.kind === 'support' ? 'Provider support staff' : 'A person of the tenant', { exact: true }).check();
  await Promise.all([page.waitForURL((url) => url.origin !== issuerOrigin, { waitUntil: 'commit' }), page.getByRole('button', { name: 'Sign in' }).click()]);
}

/** A fresh page at `appPath` of the app at `appUrl`, signed in through the development login form; returns once the screen's heading shows. */
export async function openSignedIn(browser: Browser, appUrl: string, appPath: string, choice: SignInChoice, opts: { locale?: string } = {}): Promise<OpenedPage> {
  const opened = await openPage(browser, opts);
  await opened.page.goto(new URL(appPath, appUrl).toString());
  await signIn(opened.page, choice);
  await opened.page.waitForSelector('main h1');
  return opened;
}

/**
 * Asks again until the page shows what is expected (a debounced search, a focus that moves). Polled
 * from here: a waitForFunction predicate is evaluated inside the page with eval, which the app's CSP
 * forbids (it failed only when the first check came too early, so it looked like a flake).
 */
export async function until(page: Page, check: () => Promise<boolean>, tries = 200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await page.waitForTimeout(100);
  }
  throw new Error(`the page did not get there: ${check.toString()}`);
}

/** Through the main menu, as a person would; waits for the screen's heading. */
export async function goTo(page: Page, menu: string, heading: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: menu, exact: true }).click();
  await page.getByRole('heading', { level: 1, name: heading, exact: true }).waitFor();
}

interface AxeResult {
  violations: { id: string; impact: string | null; help: string; helpUrl: string; nodes: { target: unknown[]; failureSummary?: string }[] }[];
}

const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * axe-core over the page as it is now (WCAG 2.0/2.1 A and AA, plus best practices); fails on any
 * serious or critical violation, listing each with the elements it found. The axe script is evaluated
 * through the DevTools protocol, which the page's CSP does not govern: the page itself keeps its CSP.
 */
export async function checkA11y(page: Page, name: string): Promise<void> {
  const loaded = await page.evaluate('typeof window.axe === "object"');
  if (!loaded) await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate<AxeResult>(
    `window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }, resultTypes: ['violations'] })`,
  );
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length > 0) {
    const lines = bad.flatMap((v) => [
      `  [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})`,
      ...v.nodes.slice(0, 5).map((n) => `      at ${JSON.stringify(n.target)}${n.failureSummary ? `: ${n.failureSummary.replace(/\s+/g, ' ')}` : ''}`),
    ]);
    throw new Error(`Accessibility (axe-core) on "${name}": ${bad.length} serious or critical violation(s)\n${lines.join('\n')}`);
  }
}

/** A full-page screenshot in test/e2e/screenshots/<name>.png (git-ignored): look at them. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Holds the page's GET requests to paths ending in `pathEnd` until `release`, which resolves once one has been
 * answered and stops holding: the way the e2e tests show that an action waits for what it depends on (hold,
 * check the action cannot be taken, release, act). `asked` resolves when a held GET has been sent.
 */
export async function holdGets(page: Page, pathEnd: string): Promise<{ asked: Promise<void>; release: () => Promise<void> }> {
  let letGo!: () => void;
  const released = new Promise<void>((resolve) => (letGo = resolve));
  let sent!: () => void;
  const asked = new Promise<void>((resolve) => (sent = resolve));
  const held = (url: URL) => url.pathname.endsWith(pathEnd);
  await page.route(held, async (route) => {
    if (route.request().method() === 'GET') {
      sent();
      await released;
    }
    await route.continue();
  });
  const release = async () => {
    const answered = page.waitForResponse((r) => held(new URL(r.url())) && r.request().method() === 'GET');
    letGo();
    await answered;
    await page.unroute(held);
  };
  return { asked, release };
}

/**
 * Loses the answer to the first POST to `glob`, as a network can: the archive does the work, the page gets a
 * connection reset. Later POSTs pass. `keys`: the Idempotency-Key each POST carried, to show that the retry sent the
 * first attempt's key. `stop` removes the route.
 */
export async function loseFirstAnswer(page: Page, glob: string): Promise<{ keys: string[]; stop: () => Promise<void> }> {
  const keys: string[] = [];
  await page.route(glob, async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    keys.push(route.request().headers()['idempotency-key'] ?? '');
    if (keys.length > 1) return route.continue();
    await route.fetch();
    return route.abort('connectionreset');
  });
  return { keys, stop: () => page.unroute(glob) };
}
