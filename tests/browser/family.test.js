// The family (called party) page at phone width (375 px): the demo
// `family` user, bound to +15551230001, signs in with its password alone,
// sees the balance, records a deposit and finds it on the statement,
// blocks and unblocks the facility, and never scrolls sideways. Every read
// and change is in the access log first; the call search and the access
// log refuse a family user.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { auditEntries, launchBrowser, placeCall, startServer } from './harness.js';

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

async function noSideways(page, where) {
  const width = await page.evaluate(() => document.scrollingElement.scrollWidth);
  assert.ok(width <= 375, `${where}: the page is ${width}px wide`);
}

async function signInFamily() {
  const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
  const page = await context.newPage();
  await page.goto(`${server.base}/console/sign-in`);
  await page.getByLabel('User name').fill('family');
  await page.getByLabel('Password').fill('demo-family');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Home' }).waitFor();
  return page;
}

test('a family user sees its balance, deposits, blocks and unblocks at 375 px', async () => {
  const page = await signInFamily();
  await noSideways(page, 'home');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Your account' }).click();
  await page.getByRole('heading', { name: 'Your account' }).waitFor();
  assert.equal((await page.locator('#balance').textContent()).trim(), '$10.00');
  // The number is shown masked, never in full.
  const body = await page.locator('main').textContent();
  assert.match(body, /\+1\*{6}0001/);
  assert.doesNotMatch(body, /5551230001/);
  assert.match(await page.locator('#statement').textContent(), /Deposit, reference demo seed/);
  await noSideways(page, 'account');

  // A bad amount changes nothing and says why.
  let entries = (await auditEntries(server.data)).length;
  await page.getByLabel('Amount in dollars').fill('-5');
  await page.getByLabel('Payment reference').fill('RCPT-1');
  await page.getByRole('button', { name: 'Record deposit' }).click();
  assert.match(await page.getByRole('alert').textContent(), /Amount/);
  assert.equal((await page.locator('#balance').textContent()).trim(), '$10.00');

  await page.getByLabel('Amount in dollars').fill('25.50');
  await page.getByLabel('Payment reference').fill('RCPT-20261122-77');
  await page.getByRole('button', { name: 'Record deposit' }).click();
  assert.match(await page.getByRole('status').textContent(), /Deposit recorded/);
  assert.equal((await page.locator('#balance').textContent()).trim(), '$35.50');
  const newest = await page.locator('#statement tbody tr').first().textContent();
  assert.match(newest, /Deposit, reference RCPT-20261122-77/);
  assert.match(newest, /\$25\.50/);
  assert.match(newest, /\$35\.50/, 'the running balance');
  await noSideways(page, 'after the deposit');
  const log = await auditEntries(server.data);
  assert.ok(log.length > entries, 'the deposit and the reads are logged');
  assert.ok(log.some((e) => e.includes('family deposit $25.50, reference RCPT-20261122-77')));
  assert.ok(!log.some((e) => e.includes('5551230001')), 'no full number in the log');

  // Block, then unblock, the demo facility for this number.
  const card = page.locator('section.card', { has: page.getByRole('heading', { name: 'Demo County Jail' }) });
  assert.match(await card.textContent(), /Allowed/);
  await card.getByRole('button', { name: 'Block calls from Demo County Jail' }).click();
  assert.match(await page.getByRole('status').textContent(), /Blocked/);
  assert.match(await card.textContent(), /Blocked: calls from here/);
  // The block is the one pressing 9 makes: the admin CLI lists it.
  let blocks = await server.cli('admin', '--data-dir', server.data, '--json', 'block', 'list', '--facility', 'Demo County Jail');
  assert.match(blocks.stdout + blocks.stderr, /called_party/);
  await noSideways(page, 'after blocking');
  await card.getByRole('button', { name: 'Unblock calls from Demo County Jail' }).click();
  assert.match(await page.getByRole('status').textContent(), /Unblocked/);
  assert.match(await card.textContent(), /Allowed/);
  blocks = await server.cli('admin', '--data-dir', server.data, '--json', 'block', 'list', '--facility', 'Demo County Jail');
  assert.doesNotMatch(blocks.stdout, /called_party/);
  entries = await auditEntries(server.data);
  assert.ok(entries.some((e) => e.includes('family blocks calls from facility')));
  assert.ok(entries.some((e) => e.includes('family unblocks calls from facility')));
});

test('a family user is refused the call search and the access log, and others its page', async () => {
  const page = await signInFamily();
  for (const path of ['/console/calls', '/console/audit', '/console/approvals']) {
    const response = await page.goto(`${server.base}${path}`);
    assert.equal(response.status(), 403, path);
    await page.getByRole('heading', { name: 'Not allowed' }).waitFor();
    await noSideways(page, path);
  }
  // A form posted without the session's CSRF token changes nothing.
  const before = (await page.request.get(`${server.base}/console/family`)).status();
  assert.equal(before, 200);
  const forged = await page.request.post(`${server.base}/console/family/deposit`, {
    form: { csrf: 'nope', amount: '100', reference: 'forged' },
  });
  assert.equal(forged.status(), 403);
  await page.goto(`${server.base}/console/family`);
  assert.equal((await page.locator('#balance').textContent()).trim(), '$35.50');

  // Another role (an attorney, no TOTP) has no family page.
  const other = await (await browser.newContext()).newPage();
  await other.goto(`${server.base}/console/sign-in`);
  await other.getByLabel('User name').fill('attorney');
  await other.getByLabel('Password').fill('demo-attorney');
  await other.getByRole('button', { name: 'Sign in' }).click();
  await other.getByRole('heading', { name: 'Home' }).waitFor();
  const response = await other.goto(`${server.base}/console/family`);
  assert.equal(response.status(), 403);
});

test('a family user sees a real call charged, in the facility\'s time, then closes the account', async () => {
  // station-101 calls +15551230001, the family's number: a real call,
  // charged to this prepaid account.
  await placeCall(server, 'station_call.xml');
  const page = await signInFamily();
  await page.goto(`${server.base}/console/family`);
  const row = page.locator('#calls tbody tr').first();
  const cells = await row.locator('td').allTextContents();
  assert.equal(cells.length, 5, cells.join(' | '));
  const [date, facility, minutes, rate, charge] = cells;
  // The demo facility keeps America/Chicago time, and says so.
  assert.match(date, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} C[SD]T$/, date);
  assert.equal(facility, 'Demo County Jail');
  assert.match(minutes, /^\d+:\d{2}$/, minutes);
  assert.match(rate, /^\$\d+\.\d{2}\/min$/, rate);
  const cents = (text) => Math.round(Number(text.replace(/[$,]/g, '')) * 100);
  assert.ok(cents(charge) > 0, `the call was charged: ${charge}`);
  const balance = cents((await page.locator('#balance').textContent()).trim());
  assert.equal(balance, 3550 - cents(charge), 'the balance is what was left after the charge');
  assert.match(await page.locator('#statement tbody tr').first().textContent(), /Call, \d+:\d{2}/);
  await noSideways(page, 'with a call');

  // Closing needs the box ticked (the browser holds the form back without it).
  await page.getByRole('button', { name: 'Close account' }).click();
  assert.equal(page.url(), `${server.base}/console/family`);
  const refused = await page.request.post(`${server.base}/console/family/close`, {
    form: { csrf: await page.locator('form[action="/console/family/close"] input[name=csrf]').inputValue() },
  });
  assert.equal(refused.status(), 400, 'no confirmation, no closing');
  assert.match(await refused.text(), /Tick the box/);

  await page.getByLabel('Yes, close this account and return the balance').check();
  await page.getByRole('button', { name: 'Close account' }).click();
  assert.match(await page.getByRole('status').textContent(), /Account closed/);
  assert.equal((await page.locator('#balance').textContent()).trim(), '$0.00');
  const closed = await page.locator('#closed').textContent();
  assert.ok(closed.includes(`$${(balance / 100).toFixed(2)} was returned to you`), closed);
  assert.match(await page.locator('#statement tbody tr').first().textContent(), /Account closed, balance returned to you/);
  assert.equal(await page.getByRole('button', { name: 'Record deposit' }).count(), 0, 'no deposits into a closed account');
  assert.equal(await page.getByRole('button', { name: 'Close account' }).count(), 0);
  await noSideways(page, 'closed');
  const log = await auditEntries(server.data);
  assert.ok(log.some((e) => e.includes('family closes the account')), 'the closing is logged');
  const statement = await server.cli('admin', '--data-dir', server.data, 'account', 'statement', '--number', '+15551230001');
  assert.match(statement.stdout, /closure/);
});
