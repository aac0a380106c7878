/**
 * Sign-in in a real browser: the local issuer's development login form (keyboard focus, axe,
 * screenshots), the redirect back with a code, the PKCE exchange from a loopback page (CORS), and
 * the token used against /api.
 */
import * as http from 'node:http';
import type { Browser } from 'playwright-core';
import { closeServer, listen } from '../../local/emulators';
import { checkA11y, launchBrowser, openPage, screenshot, signIn } from '../support/browser';
import { e2eTarget } from '../support/e2e-target';
import { newTenant } from '../support/harness';
import { call } from '../support/http';
import { authorizeUrl, pkcePair, WEB_CLIENT_ID } from '../support/pkce';

let browser: Browser;
/**
 * A stand-in for the app's redirect URI on its own loopback port: the code lands here, not in the
 * app (which would redeem it itself), so this test holds whether or not the app is built.
 */
let callbackServer: http.Server;
let callbackOrigin: string;

beforeAll(async () => {
  browser = await launchBrowser();
  callbackServer = http.createServer((_, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html lang="en"><head><title>Callback</title></head><body><main><h1>Back from the issuer</h1></main></body></html>');
  });
  callbackOrigin = `http://127.0.0.1:${await listen(callbackServer, 0)}`;
});
afterAll(async () => {
  await browser?.close();
  await closeServer(callbackServer);
});

const cspViolations = (problems: string[]) => problems.filter((p) => /Content Security Policy/i.test(p));

it('signs a person in through the development login form; the code, exchanged with PKCE, opens the API', async () => {
  const target = e2eTarget();
  const redirectUri = `${callbackOrigin}/signed-in`;
  const { page, problems } = await openPage(browser);
  const { verifier, challenge } = pkcePair();

  await page.goto(authorizeUrl(target.issuer, { redirectUri, challenge, state: 'e2e-state', nonce: 'e2e-nonce' }));
  expect(await page.title()).toBe('Sign in (local development) — Document archive');
  expect(await page.locator('.local').textContent()).toContain('Local development only — not in Azure');
  expect(await page.evaluate('document.activeElement?.id')).toBe('tenant');
  await checkA11y(page, 'sign-in form');
  await screenshot(page, 'sign-in-form');

  // Nothing filled in: the form comes back with a message per field and the focus on the first.
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForSelector('[role=alert]');
  expect(await page.locator('#tenant-error').textContent()).toMatch(/Enter a tenant id/);
  expect(await page.evaluate('document.activeElement?.id')).toBe('tenant');
  await checkA11y(page, 'sign-in form with errors');
  await screenshot(page, 'sign-in-form-errors');

  const tenant = newTenant('e2e');
  await signIn(page, { tenant, person: 'anna@acme.example', rightsSet: 'accountant' });
  const back = new URL(page.url());
  expect(back.origin + back.pathname).toBe(redirectUri);
  expect(back.searchParams.get('state')).toBe('e2e-state');
  const code = back.searchParams.get('code')!;

  // The exchange from the page, as the app makes it: a cross-origin POST the issuer allows for loopback origins.
  const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: WEB_CLIENT_ID, code_verifier: verifier }).toString();
  const token = await page.evaluate<{ status: number; json: { access_token: string; token_type: string } }>(
    `fetch(${JSON.stringify(`${target.issuer}/token`)}, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: ${JSON.stringify(body)} }).then(async (r) => ({ status: r.status, json: await r.json() }))`,
  );
  expect(token.status).toBe(200);
  expect(token.json.token_type).toBe('Bearer');

  const list = await call(`${target.apiUrl}/documents`, { token: token.json.access_token });
  expect(list.status).toBe(200);
  expect(list.json.items).toEqual([]);
  expect(cspViolations(problems)).toEqual([]);
});

it('sends the person back with access_denied when they cancel, by keyboard', async () => {
  const target = e2eTarget();
  const { page } = await openPage(browser);
  await page.goto(authorizeUrl(target.issuer, { redirectUri: `${callbackOrigin}/signed-in`, challenge: pkcePair().challenge, state: 's-cancel' }));
  await page.getByRole('button', { name: 'Cancel' }).focus();
  await Promise.all([page.waitForURL((url) => url.origin === callbackOrigin), page.keyboard.press('Enter')]);
  const back = new URL(page.url());
  expect(back.searchParams.get('error')).toBe('access_denied');
  expect(back.searchParams.get('state')).toBe('s-cancel');
});

it('checkA11y fails on serious violations and names them (the harness itself)', async () => {
  const { page } = await openPage(browser);
  await page.goto(`${callbackOrigin}/bad`);
  await page.setContent('<!doctype html><html><head><title>bad</title></head><body><main><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><input type="text"></main></body></html>');
  await expect(checkA11y(page, 'a bad page')).rejects.toThrow(/Accessibility \(axe-core\) on "a bad page".*\n[\s\S]*image-alt[\s\S]*label/);
});
