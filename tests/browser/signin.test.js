// Sign-in in the browser: first sign-in with TOTP enrolment, a wrong code
// granting nothing, sign-out, a second sign-in with a fresh code, and the
// idle lock the server decides.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  ageSessions, base32Decode, hasSessionCookie, launchBrowser, nextTotpStep, startServer, totp,
} from './harness.js';

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  const exit = await server?.stop();
  assert.deepEqual(exit, { code: 0, signal: null });
});

/** A six-digit code that is not the current one for `secret`. */
function wrongCode(secret) {
  const now = Date.now() / 1000;
  const valid = new Set([-1, 0, 1].map((k) => totp(secret, now + 30 * k)));
  return ['000000', '111111', '222222', '333333'].find((c) => !valid.has(c));
}

test('admin enrols at first sign-in, signs out, signs in again with a fresh code', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();

  // A page needs a session: the browser is sent to sign in.
  await page.goto(`${server.base}/console`);
  assert.equal(new URL(page.url()).pathname, '/console/sign-in');

  // Password first; the admin has no authenticator yet, so enrolment follows.
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill('demo-admin');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
  const shown = (await page.locator('#secret').textContent()).trim();
  assert.match(shown, /^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$/, 'the secret is shown for typing');
  const uri = await page.locator('#otpauth').textContent();
  assert.match(uri, /^otpauth:\/\/totp\/callward:admin\?secret=[A-Z2-7]+&/);
  assert.equal(new URL(uri).searchParams.get('secret'), shown.replaceAll(' ', ''), 'URI and text name one secret');
  const secret = base32Decode(shown);
  assert.equal(await hasSessionCookie(context), false, 'no session before the code');

  // A wrong code: an error on the page, and nothing granted.
  await page.getByLabel('Code the app shows now').fill(wrongCode(secret));
  await page.getByRole('button', { name: 'Confirm and sign in' }).click();
  assert.match(await page.getByRole('alert').textContent(), /code is not right/);
  assert.equal(await hasSessionCookie(context), false, 'a wrong code grants no session');
  const probe = await context.newPage();
  await probe.goto(`${server.base}/console`);
  assert.equal(new URL(probe.url()).pathname, '/console/sign-in', 'a wrong code grants no page');
  await probe.close();

  // The right code (computed here, RFC 6238, from the secret on the page).
  await page.getByLabel('Code the app shows now').fill(totp(secret));
  await page.getByRole('button', { name: 'Confirm and sign in' }).click();
  await page.getByRole('heading', { name: 'Home' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/console');
  assert.equal((await page.locator('#who').textContent()).trim(), 'admin (admin)');
  assert.equal(await hasSessionCookie(context), true);
  const cookie = (await context.cookies()).find((c) => c.name === 'callward_session');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');

  // Sign out: the cookie is gone and pages send the browser to sign in.
  await page.getByRole('button', { name: 'Sign out' }).click();
  assert.match(await page.getByRole('status').textContent(), /signed out/);
  assert.equal(await hasSessionCookie(context), false);
  await page.goto(`${server.base}/console`);
  assert.equal(new URL(page.url()).pathname, '/console/sign-in');

  // Again: a wrong code is refused with the same vague words and grants nothing.
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill('demo-admin');
  await page.getByLabel('Code from your authenticator app').fill(wrongCode(secret));
  await page.getByRole('button', { name: 'Sign in' }).click();
  assert.match(await page.getByRole('alert').textContent(), /wrong user name, password or code/);
  assert.equal(await hasSessionCookie(context), false);

  // The enrolment's code is used up: wait for a fresh one, then sign in.
  await nextTotpStep();
  await page.getByLabel('Password').fill('demo-admin');
  await page.getByLabel('Code from your authenticator app').fill(totp(secret));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Home' }).waitFor();
  assert.equal((await page.locator('#who').textContent()).trim(), 'admin (admin)');

  // Idle for 31 minutes: the server locks the session; the password unlocks it.
  assert.ok((await ageSessions(server.data, 31)) >= 1);
  await page.goto(`${server.base}/console`);
  assert.equal(new URL(page.url()).pathname, '/console/locked');
  await page.getByRole('heading', { name: 'Session locked' }).waitFor();
  assert.match(await page.locator('main').textContent(), /locked\. Enter your password/);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Unlock' }).click();
  assert.match(await page.getByRole('alert').textContent(), /sign-in refused/);
  await page.getByLabel('Password').fill('demo-admin');
  await page.getByRole('button', { name: 'Unlock' }).click();
  await page.getByRole('heading', { name: 'Home' }).waitFor();
  assert.equal((await page.locator('#who').textContent()).trim(), 'admin (admin)');
  await context.close();
});

test('the sign-in page works by keyboard and at 375 px', async () => {
  const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
  const page = await context.newPage();
  await page.goto(`${server.base}/console/sign-in`);
  // Nothing wider than the phone's screen.
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `page is ${width}px wide`);
  // The user name field has the focus; Tab moves through the form in order.
  assert.equal(await page.evaluate(() => document.activeElement.id), 'username');
  await page.keyboard.type('nobody');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'password');
  await page.keyboard.type('wrong');
  await page.keyboard.press('Enter');
  assert.match(await page.getByRole('alert').textContent(), /wrong user name, password or code/);
  assert.equal(await hasSessionCookie(context), false);
  await context.close();
});
