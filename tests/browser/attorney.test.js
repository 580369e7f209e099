// The attorney's page: the demo `attorney` (password only, no
// authenticator) sees its verified number, registers another (bad input
// and a number already registered refused, saying nothing of who holds
// it), asks for a privilege review; the administrator verifies the
// registration and marks the review done; the attorney sees both. Every
// step is in the access log; an attorney reaches no call record.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { auditEntries, firstSignIn, launchBrowser, startServer } from './harness.js';

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

async function signInAttorney() {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${server.base}/console/sign-in`);
  await page.getByLabel('User name').fill('attorney');
  await page.getByLabel('Password').fill('demo-attorney');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Home' }).waitFor();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Your numbers' }).click();
  await page.getByRole('heading', { name: 'Your numbers', exact: true }).waitFor();
  return page;
}

const row = (page, number) => page.locator('#numbers tbody tr', { hasText: number });

test('an attorney registers a number and asks for a review; the administrator verifies and reviews', async () => {
  const page = await signInAttorney();
  assert.match(await row(page, '+15559870001').textContent(), /Alex Counsel.*TX 24000001.*verified by admin/s);

  // Bad input changes nothing and says which field.
  await page.getByLabel('Phone number').fill('+15559870777');
  await page.getByLabel("Attorney's name").fill('Ann Counsel');
  await page.getByLabel('Bar number').fill('TX-555');
  await page.getByLabel('Bar state').fill('XX');
  await page.getByRole('button', { name: 'Register number' }).click();
  assert.match(await page.getByRole('alert').textContent(), /Bar state/);
  assert.equal(await row(page, '+15559870777').count(), 0);

  // A number someone registered already: refused without naming anyone.
  await page.getByLabel('Phone number').fill('+15559870001');
  await page.getByLabel('Bar state').fill('TX');
  await page.getByRole('button', { name: 'Register number' }).click();
  const taken = await page.getByRole('alert').textContent();
  assert.match(taken, /already registered/);
  assert.doesNotMatch(taken, /Alex|attorney\b/);

  await page.getByLabel('Phone number').fill('+15559870777');
  await page.getByRole('button', { name: 'Register number' }).click();
  assert.match(await page.getByRole('status').textContent(), /Registered, pending verification/);
  assert.match(await row(page, '+15559870777').textContent(), /Ann Counsel.*TX TX-555.*pending/s);

  // A review of earlier recordings of the demo number.
  await page.getByLabel('Number', { exact: true }).selectOption({ label: '+15559870001' });
  await page.getByLabel('Calls from (date, UTC)').fill('2026-01-01');
  await page.getByLabel('Calls until (date, UTC)').fill('2026-11-30');
  await page.getByLabel('Reason').fill('client R. Doe, calls before the registration');
  await page.getByRole('button', { name: 'Ask for a review' }).click();
  assert.match(await page.getByRole('status').textContent(), /Review requested/);
  const request = page.locator('#reviews tbody tr').first();
  assert.match(await request.textContent(), /\+15559870001.*2026-01-01 to 2026-11-30.*client R\. Doe.*requested/s);
  const requestId = (await request.locator('td').first().textContent()).trim();

  // No call records for an attorney.
  assert.equal((await page.goto(`${server.base}/console/calls`)).status(), 403);

  // The administrator verifies the new number and marks the review done.
  const admin = await (await browser.newContext()).newPage();
  await firstSignIn(admin, server.base, 'admin');
  await admin.goto(`${server.base}/console/admin/privileged`);
  await admin.getByRole('button', { name: 'Verify +15559870777' }).click();
  assert.match(await admin.getByRole('status').textContent(), /Registration verified/);
  assert.match(await admin.locator('#reviews').textContent(), /client R\. Doe.*requested/s);
  await admin.getByRole('button', { name: `Mark request ${requestId} reviewed` }).click();
  assert.match(await admin.getByRole('status').textContent(), new RegExp(`Review request ${requestId} marked reviewed`));

  await page.goto(`${server.base}/console/attorney`);
  assert.match(await row(page, '+15559870777').textContent(), /verified by admin/);
  assert.match(await page.locator('#reviews tbody tr').first().textContent(), /reviewed by admin/);

  const log = await auditEntries(server.data);
  assert.ok(log.some((e) => e.includes('attorney registers +1******0777')), 'the registration is logged, masked');
  assert.ok(log.some((e) => e.includes('attorney asks for a privilege review')));
  assert.ok(log.some((e) => e.includes(`privilege review request ${requestId} marked reviewed by admin`)));
  assert.ok(!log.some((e) => e.includes('5559870777')), 'no full number in the log');
});

test('other roles have no attorney page, and an attorney reviews only its own numbers', async () => {
  const investigator = await (await browser.newContext()).newPage();
  await firstSignIn(investigator, server.base, 'investigator');
  assert.equal((await investigator.goto(`${server.base}/console/attorney`)).status(), 403);
  const page = await signInAttorney();
  const csrf = await page.locator('form[action="/console/attorney/reviews"] input[name=csrf]').inputValue();
  // Registration 999 is nobody's; a forged request is refused, not stored.
  const forged = await page.request.post(`${server.base}/console/attorney/reviews`, {
    form: { csrf, registration: '999', since: '2026-01-01', until: '2026-01-02', reason: 'not my number at all' },
  });
  assert.equal(forged.status(), 400);
  assert.match(await forged.text(), /choose one of yours/);
});

test('the attorney API: own numbers and reviews, same checks as the page', async () => {
  const page = await signInAttorney();
  const me = await (await page.request.get(`${server.base}/api/v1/me`)).json();
  const post = (path, data) => page.request.post(`${server.base}/api/v1${path}`, {
    headers: { 'X-CSRF-Token': me.csrf, Origin: server.base }, data,
  });
  const list = await (await page.request.get(`${server.base}/api/v1/attorney/numbers`)).json();
  assert.deepEqual(list.items.map((r) => r.number).sort(), ['+15559870001', '+15559870777']);
  assert.equal(list.items.find((r) => r.number === '+15559870777').verification, 'verified');

  const body = { number: '+15559870888', name: 'Ann Counsel', bar_number: 'TX-556', bar_state: 'XX' };
  assert.equal((await post('/attorney/numbers', body)).status(), 400);
  assert.equal((await post('/attorney/numbers', { ...body, number: '+15559870001', bar_state: 'TX' })).status(), 409);
  const made = await post('/attorney/numbers', { ...body, bar_state: 'TX' });
  assert.equal(made.status(), 201, await made.text());
  const registration = await made.json();
  assert.equal(registration.verification, 'pending');
  assert.equal(registration.earlier_recordings_sealed, true);

  const review = { registration: registration.id, since_ms: 1_767_225_600_000, until_ms: 1_767_312_000_000, reason: 'client A. Roe, older calls' };
  assert.equal((await post('/attorney/reviews', { ...review, registration: 999 })).status(), 404);
  assert.equal((await post('/attorney/reviews', { ...review, since_ms: review.until_ms + 1 })).status(), 400);
  const asked = await post('/attorney/reviews', review);
  assert.equal(asked.status(), 201, await asked.text());
  assert.equal((await asked.json()).state, 'requested');
  const reviews = await (await page.request.get(`${server.base}/api/v1/attorney/reviews`)).json();
  assert.equal(reviews.items.length, 2);

  // Another role: refused (and logged).
  const other = await (await browser.newContext()).newPage();
  await firstSignIn(other, server.base, 'supervisor');
  assert.equal((await other.request.get(`${server.base}/api/v1/attorney/numbers`)).status(), 403);
});
