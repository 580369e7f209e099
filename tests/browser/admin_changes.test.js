// The administrator's changes in the console (issue 9, item 2): stations,
// people (admit, PIN reset shown once, language), each written to the
// access log first (exactly one entry per change), checked against the
// CLI's view of the same data dir; and a non-admin refused.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { auditEntries, firstSignIn, launchBrowser, startServer } from './harness.js';

let server;
let browser;
let page;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const context = await browser.newContext();
  page = await context.newPage();
  await firstSignIn(page, server.base, 'admin');
});
after(async () => {
  await browser?.close();
  const exit = await server?.stop();
  assert.deepEqual(exit, { code: 0, signal: null });
});

/** Runs `change` and returns the access-log entries it appended. */
async function logged(change) {
  const before = (await auditEntries(server.data)).length;
  await change();
  const log = await auditEntries(server.data);
  return log.slice(before);
}

async function cli(...args) {
  const out = await server.cli('admin', '--data-dir', server.data, '--json', ...args);
  assert.equal(out.code, 0, out.stderr);
  return JSON.parse(out.stdout);
}

test('stations: add, disable, enable, unlock a PIN lock', async () => {
  await page.goto(`${server.base}/console/admin/facilities`);
  // Bad input: the CLI's error text, nothing logged, nothing made.
  let added = await logged(async () => {
    await page.getByLabel('Station id (SIP user)').fill('bad id!');
    await page.getByRole('button', { name: 'Add station' }).click();
    await page.getByRole('alert').waitFor();
  });
  assert.match(await page.getByRole('alert').textContent(), /station id/);
  assert.equal(added.length, 0, 'a refused form logs nothing');

  added = await logged(async () => {
    await page.getByLabel('Station id (SIP user)').fill('station-102');
    await page.getByLabel('Location').fill('Unit B');
    await page.getByRole('button', { name: 'Add station' }).click();
    await page.getByRole('status').waitFor();
  });
  assert.equal(added.length, 1, 'exactly one entry');
  assert.match(added[0], /station-102/);
  assert.match(added[0], /create in facility 1/);
  const row = page.getByRole('row', { name: /station-102/ });
  assert.match(await row.textContent(), /Unit B/);
  const stations = await cli('station', 'list');
  assert.ok(stations.some((s) => s.code === 'station-102' && s.location === 'Unit B'));

  // The same id again: the store's refusal, shown as the CLI shows it.
  await page.getByLabel('Station id (SIP user)').fill('station-102');
  await page.getByRole('button', { name: 'Add station' }).click();
  assert.match(await page.getByRole('alert').textContent(), /station-102|exists|already/);

  added = await logged(async () => {
    await page.getByRole('button', { name: 'Disable station-102' }).click();
    await page.getByRole('status').waitFor();
  });
  assert.equal(added.length, 1);
  assert.match(added[0], /update: enabled/);
  assert.match(await page.getByRole('row', { name: /station-102/ }).textContent(), /no/);
  assert.equal((await cli('station', 'show', 'station-102')).enabled, false);
  await page.getByRole('button', { name: 'Enable station-102' }).click();
  await page.getByRole('status').waitFor();
  assert.equal((await cli('station', 'show', 'station-102')).enabled, true);

  // Five wrong PINs at station-101 lock PIN entry there (written as the
  // switch writes them); the console shows it and unlocks it.
  const { spawn } = await import('node:child_process');
  const path = await import('node:path');
  await new Promise((resolve, reject) => {
    const c = spawn('python3', ['-c', [
      'import sqlite3, sys, time',
      'db = sqlite3.connect(sys.argv[1], timeout=10)',
      'sid = db.execute("SELECT id FROM stations WHERE code = \'station-101\'").fetchone()[0]',
      'now = int(time.time() * 1000)',
      'for i in range(5): db.execute("INSERT INTO pin_failures (station_id, at_ms) VALUES (?, ?)", (sid, now - i * 1000))',
      'db.commit()',
    ].join('\n'), path.join(server.data, 'callward.db')], { stdio: ['ignore', 'ignore', 'inherit'] });
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`python3 exited ${code}`))));
  });
  await page.reload();
  assert.match(await page.getByRole('row', { name: /station-101/ }).textContent(), /locked/);
  added = await logged(async () => {
    await page.getByRole('button', { name: 'Unlock PIN entry at station-101' }).click();
    await page.getByRole('status').waitFor();
  });
  assert.equal(added.length, 1);
  assert.match(added[0], /unlock: clear failed PIN entries/);
  assert.doesNotMatch(await page.getByRole('row', { name: /station-101/ }).textContent(), /locked/);
});

test('people: admit with a PIN shown once, reset the PIN, change the language', async () => {
  await page.goto(`${server.base}/console/admin/people`);
  let added = await logged(async () => {
    await page.getByLabel('Booking id').fill('24-00117');
    await page.getByLabel('Name', { exact: true }).fill('Jordan Reyes');
    await page.getByLabel('Language', { exact: true }).selectOption('es');
    await page.getByRole('button', { name: 'Admit' }).click();
    await page.getByRole('status').waitFor();
  });
  assert.equal(added.length, 1);
  assert.match(added[0], /24-00117/);
  assert.match(added[0], /create in facility 1, PIN set/);
  const pin = (await page.locator('#new-pin').textContent()).trim();
  assert.match(pin, /^\d{6}$/);
  assert.ok(!added[0].includes(pin), 'the PIN is not in the log');
  const person = await cli('person', 'show', '--facility', '1', '24-00117');
  assert.equal(person.language, 'es');
  assert.equal(person.has_pin, true);

  // Shown once: a reload does not show it again.
  await page.goto(`${server.base}/console/admin/people`);
  assert.ok(!(await page.content()).includes(pin), 'the PIN is not shown again');

  added = await logged(async () => {
    await page.getByRole('button', { name: 'Reset PIN of 24-00117' }).click();
    await page.getByRole('status').waitFor();
  });
  assert.equal(added.length, 1);
  assert.match(added[0], /set PIN/);
  const newPin = (await page.locator('#new-pin').textContent()).trim();
  assert.match(newPin, /^\d{6}$/);
  assert.ok(!added[0].includes(newPin));

  added = await logged(async () => {
    await page.getByLabel('Language of 24-00117').selectOption('en');
    await page.getByRole('row', { name: /24-00117/ }).getByRole('button', { name: 'Save language' }).click();
    await page.getByRole('status').waitFor();
  });
  assert.equal(added.length, 1);
  assert.match(added[0], /update: language/);
  assert.equal((await cli('person', 'show', '--facility', '1', '24-00117')).language, 'en');
  assert.match(await page.getByRole('row', { name: /24-00117/ }).textContent(), /en/);
});

test('numbers: a person\'s approved and blocked numbers, add and remove', async () => {
  await page.goto(`${server.base}/console/admin/people`);
  const demo = page.getByRole('row').filter({ hasNotText: '24-00117' }).filter({ has: page.getByRole('link', { name: /Numbers of/ }) });
  await demo.first().getByRole('link', { name: /Numbers of/ }).click();
  await page.getByRole('heading', { name: 'Numbers', exact: true }).waitFor();
  const approved = page.locator('#approved');
  assert.match(await approved.textContent(), /\+15551230001/, 'the administrator sees numbers in full');
  assert.match(await page.locator('#blocked').textContent(), /\+15550000666/);

  let added = await logged(async () => {
    await page.getByLabel('Number to approve').fill('555-01');
    await page.getByRole('button', { name: 'Approve number' }).click();
    await page.getByRole('alert').waitFor();
  });
  assert.equal(added.length, 0, 'a bad number logs nothing');
  assert.match(await page.getByRole('alert').textContent(), /^number: /);

  added = await logged(async () => {
    await page.getByLabel('Number to approve').fill('(555) 123-0003');
    await page.getByLabel('Who answers').fill('Aunt');
    await page.getByRole('button', { name: 'Approve number' }).click();
    await page.getByRole('status').waitFor();
  });
  assert.equal(added.length, 1);
  assert.match(added[0], /\+1\*{6}0003/);
  assert.match(added[0], /approve for person 1/);
  assert.ok(!added[0].includes('5551230003'), 'never the full number in the log');
  assert.match(await approved.textContent(), /\+15551230003.*Aunt/s);
  const contacts = await cli('contact', 'list', '--facility', '1', '--booking-id', await bookingOfPage());
  assert.ok(contacts.some((c) => c.number === '+15551230003'));

  added = await logged(async () => {
    await page.getByRole('button', { name: 'Remove approval of +15551230003' }).click();
    await page.getByRole('status').waitFor();
  });
  assert.equal(added.length, 1);
  assert.match(added[0], /remove/);
  assert.doesNotMatch(await approved.textContent(), /\+15551230003/);

  added = await logged(async () => {
    await page.getByLabel('Number to block').fill('+15550000777');
    await page.getByLabel('For', { exact: true }).selectOption('person');
    await page.getByLabel('Reason').fill('harassment');
    await page.getByRole('button', { name: 'Block number' }).click();
    await page.getByRole('status').waitFor();
  });
  assert.equal(added.length, 1);
  assert.match(added[0], /block \(person list\)/);
  assert.ok(!added[0].includes('5550000777'));
  assert.match(await page.getByRole('row', { name: /\+15550000777/ }).textContent(), /this person.*harassment/s);
  const blocks = await cli('block', 'list', '--facility', '1');
  assert.ok(blocks.some((b) => b.number === '+15550000777'));

  added = await logged(async () => {
    await page.getByRole('button', { name: 'Remove block of +15550000777' }).click();
    await page.getByRole('status').waitFor();
  });
  assert.equal(added.length, 1);
  assert.equal((await cli('block', 'list', '--facility', '1')).filter((b) => b.number === '+15550000777').length, 0);
});

/** The booking id on the numbers page. */
async function bookingOfPage() {
  const text = await page.locator('main p').filter({ hasText: 'booking' }).first().textContent();
  return text.match(/booking ([^,]+),/)[1];
}

test('attorney numbers awaiting verification: verify (sealing earlier recordings) and reject', async () => {
  for (const [number, bar] of [['+15559870002', '24000002'], ['+15559870003', '24000003']]) {
    const out = await server.cli('admin', '--data-dir', server.data, 'privileged', 'register', '--number', number,
      '--attorney', 'Sam Counsel', '--bar-number', bar, '--bar-state', 'TX');
    assert.equal(out.code, 0, out.stderr);
  }
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Attorney numbers' }).click();
  const pending = page.locator('#pending');
  assert.match(await pending.textContent(), /\+15559870002.*\+15559870003/s);
  assert.match(await page.locator('#decided').textContent(), /\+15559870001.*verified/s, 'the demo attorney');

  let added = await logged(async () => {
    await page.getByRole('button', { name: 'Verify +15559870002' }).click();
    await page.getByRole('status').waitFor();
  });
  assert.match(await page.getByRole('status').textContent(), /verified; sealed 0 earlier recordings/);
  // The verification entry first; the sealing run logs one entry per recording sealed (none here).
  assert.equal(added.length, 1);
  assert.match(added[0], /verified by admin/);
  assert.ok(!added[0].includes('5559870002'));
  assert.match(await page.getByRole('row', { name: /\+15559870002/ }).textContent(), /verified by admin/);

  added = await logged(async () => {
    await page.getByRole('button', { name: 'Reject +15559870003' }).click();
    await page.getByRole('status').waitFor();
  });
  assert.equal(added.length, 1);
  assert.match(added[0], /rejected by admin/);
  const registry = await cli('privileged', 'list');
  const state = Object.fromEntries(registry.map((r) => [r.number, [r.verification, r.verified_by]]));
  assert.deepEqual(state['+15559870002'], ['verified', 'admin']);
  assert.deepEqual(state['+15559870003'], ['rejected', 'admin']);
  assert.match(await page.locator('main').textContent(), /Awaiting verification\s*None/);
});

test('users: create one in the own agency, unlock a locked account', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
  let added = await logged(async () => {
    await page.getByLabel('User name').fill('j.doe');
    await page.getByLabel('Role').selectOption('investigator');
    await page.getByLabel('First password').fill('short');
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('alert').waitFor();
  });
  assert.equal(added.length, 0, 'a refused password logs nothing');
  assert.match(await page.getByRole('alert').textContent(), /password/i);

  added = await logged(async () => {
    await page.getByLabel('User name').fill('j.doe');
    await page.getByLabel('Role').selectOption('investigator');
    await page.getByLabel('First password').fill('a long passphrase');
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('status').waitFor();
  });
  assert.equal(added.length, 1);
  assert.match(added[0], /create user, role investigator, agency 1/);
  assert.ok(!added[0].includes('a long passphrase'), 'never the password');
  assert.match(await page.getByRole('row', { name: /j\.doe/ }).textContent(), /investigator/);

  // Five wrong passwords lock j.doe; the new user can sign in otherwise (enrolment next).
  const context = await browser.newContext();
  const other = await context.newPage();
  for (let i = 0; i < 5; i += 1) {
    await other.goto(`${server.base}/console/sign-in`);
    await other.getByLabel('User name').fill('j.doe');
    await other.getByLabel('Password').fill('wrong password');
    await other.getByRole('button', { name: 'Sign in' }).click();
    await other.getByRole('alert').waitFor();
  }
  await page.reload();
  const row = page.getByRole('row', { name: /j\.doe/ });
  assert.match(await row.textContent(), /yes/, 'locked');
  added = await logged(async () => {
    await page.getByRole('button', { name: 'Unlock j.doe' }).click();
    await page.getByRole('status').waitFor();
  });
  assert.equal(added.length, 1);
  assert.match(added[0], /unlock/);
  assert.match(await page.getByRole('status').textContent(), /Account unlocked/);
  const out = await server.cli('admin', '--data-dir', server.data, '--json', 'user', 'list');
  const jdoe = JSON.parse(out.stdout).find((u) => u.username === 'j.doe');
  assert.equal(jdoe.locked, false);
  await other.goto(`${server.base}/console/sign-in`);
  await other.getByLabel('User name').fill('j.doe');
  await other.getByLabel('Password').fill('a long passphrase');
  await other.getByRole('button', { name: 'Sign in' }).click();
  await other.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
  await context.close();
});

test('calling hours and limits changed; tariffs in force shown', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Hours and tariffs' }).click();
  assert.match(await page.locator('#rate-1').textContent(), /Cap in force\$0\.\d+\/min \(FCC/);
  assert.match(await page.locator('#schedules').textContent(), /2024|24-75/);

  let added = await logged(async () => {
    await page.getByLabel('Calling hours').fill('25:00-08:00');
    await page.getByRole('button', { name: 'Save hours and limits' }).click();
    await page.getByRole('alert').waitFor();
  });
  assert.equal(added.length, 0, 'bad hours log nothing');
  assert.match(await page.getByRole('alert').textContent(), /^hours: /);

  added = await logged(async () => {
    await page.getByLabel('Calling hours').fill('08:00-20:30');
    await page.getByLabel('Longest call (minutes)').fill('20');
    await page.getByLabel('Calls per person per day').fill('5');
    await page.getByRole('button', { name: 'Save hours and limits' }).click();
    await page.getByRole('status').waitFor();
  });
  assert.equal(added.length, 1);
  assert.match(added[0], /update: hours, max call minutes, max calls per day/);
  const f = await cli('facility', 'show', '1');
  assert.equal(f.max_call_minutes, 20);
  assert.equal(f.max_calls_per_day, 5);
  assert.deepEqual(f.calling_hours, { open: '08:00:00', close: '20:30:00' });
  assert.equal(await page.getByLabel('Calling hours').inputValue(), '08:00-20:30');
});

test('a forged form and a non-admin are refused, and change nothing', async () => {
  const before = (await auditEntries(server.data)).length;
  const forged = await page.evaluate(async () => {
    const body = new URLSearchParams({ csrf: 'forged', facility: '1', code: 'station-666' });
    return (await fetch('/console/admin/stations', { method: 'POST', body })).status;
  });
  assert.equal(forged, 403);

  const context = await browser.newContext();
  const other = await context.newPage();
  await firstSignIn(other, server.base, 'investigator');
  for (const path of ['/console/admin/facilities', '/console/admin/people', '/console/admin/people/1', '/console/admin/privileged', '/console/admin/users', '/console/admin/rules']) {
    const response = await other.goto(`${server.base}${path}`);
    assert.equal(response.status(), 403, path);
  }
  // With the investigator's own valid CSRF token, the change is still refused.
  const status = await other.evaluate(async () => {
    const csrf = document.querySelector('input[name=csrf]').value;
    const body = new URLSearchParams({ csrf, facility: '1', code: 'station-667' });
    return (await fetch('/console/admin/stations', { method: 'POST', body })).status;
  });
  assert.equal(status, 403);
  await context.close();
  const stations = await cli('station', 'list');
  assert.ok(!stations.some((s) => s.code.startsWith('station-66')));
  const log = await auditEntries(server.data);
  assert.ok(!log.slice(before).some((e) => e.includes('station-66')), 'nothing logged as a change');
});
