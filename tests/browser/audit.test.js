// The auditor: the access log with filters and paging, the current signed
// checkpoint, "verify now" (OK, then FAILED at the first bad position once
// an entry is altered in the database), and no call content reachable.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  auditEntries, firstSignIn, launchBrowser, listCalls, placeCall, startServer,
} from './harness.js';

let server;
let browser;
let page;
let callId;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  await placeCall(server, 'station_call.xml');
  callId = (await listCalls(server))[0].id;
  page = await (await browser.newContext()).newPage();
  await firstSignIn(page, server.base, 'auditor');
});
after(async () => {
  await browser?.close();
  const exit = await server?.stop();
  assert.deepEqual(exit, { code: 0, signal: null });
});

test('auditor browses the log with filters and paging, sees the checkpoint and verifies', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Access log' }).click();
  await page.getByRole('heading', { name: 'Access log' }).waitFor();
  const size = Number(await page.locator('#log-size').textContent());
  assert.ok(size >= 3, `log size ${size}`);
  const note = await page.locator('#checkpoint').textContent();
  assert.equal(note.split('\n')[1], String(size), 'the checkpoint is for the whole log');

  // By user and action: only the auditor's sign-in.
  await page.getByLabel('User name').fill('auditor');
  await page.getByLabel('Action').selectOption('login');
  await page.getByRole('button', { name: 'Show entries' }).click();
  let rows = page.locator('tbody tr');
  assert.equal(await rows.count(), 1);
  assert.match(await rows.first().textContent(), /auditor.*login/);

  // Paging: two at a time, newest first, then older ones.
  await page.getByLabel('User name').fill('');
  await page.getByLabel('Action').selectOption('');
  await page.getByLabel('Per page').fill('2');
  await page.getByRole('button', { name: 'Show entries' }).click();
  rows = page.locator('tbody tr');
  assert.equal(await rows.count(), 2);
  const first = Number(await rows.nth(0).locator('td').first().textContent());
  const second = Number(await rows.nth(1).locator('td').first().textContent());
  assert.ok(first > second, 'newest first');
  await page.locator('#older').click();
  const third = Number(await page.locator('tbody tr').first().locator('td').first().textContent());
  assert.ok(third < second, `the next page goes on below ${second}: ${third}`);

  // A date range: today has entries, a range in the past none.
  const today = new Date().toISOString().slice(0, 10);
  await page.goto(`${server.base}/console/audit?from=${today}&until=${today}`);
  assert.ok((await page.locator('tbody tr').count()) > 0);
  await page.goto(`${server.base}/console/audit?from=2001-01-01&until=2001-12-31`);
  assert.match(await page.locator('#count').textContent(), /No entries match/);
  const bad = await page.goto(`${server.base}/console/audit?from=yesterday`);
  assert.equal(bad.status(), 400);
  assert.match(await page.getByRole('alert').textContent(), /From: give a date/);

  // Browsing is logged: the search with its filters names the auditor.
  const entries = await auditEntries(server.data);
  assert.ok(entries.some((e) => e.includes('auditor') && e.includes('console audit log from=978307200')));

  // Verify now.
  await page.goto(`${server.base}/console/audit`);
  await page.getByRole('button', { name: 'Verify now' }).click();
  const result = await page.locator('#verify-result').textContent();
  assert.match(result, /OK\. (\d+) entries and (\d+) signed checkpoints checked/);
  assert.match(await page.locator('#verified-root').textContent(), /^[0-9a-f]{64}$/);
  assert.match(await page.locator('#witness').textContent(), /witness/);
});

test('an auditor reaches no call record or recording', async () => {
  for (const p of [`/console/calls/${callId}`, '/console/calls', '/console/approvals', '/console/admin/people']) {
    const response = await page.goto(`${server.base}${p}`);
    assert.equal(response.status(), 403, p);
  }
  const html = await page.content();
  assert.ok(!html.includes('5551230001'), 'no number on the refusal');
  assert.equal(await page.locator('audio').count(), 0);
});

test('verify now reports the first altered entry', async () => {
  // Alter one stored entry (the auditor's sign-in, "auditor" -> "auditoX"),
  // as someone with the database file could (dropping the append-only
  // trigger first).
  const script = [
    'import sqlite3, sys',
    'db = sqlite3.connect(sys.argv[1], timeout=10)',
    'db.execute("DROP TRIGGER audit_entries_no_update")',
    'rows = db.execute("SELECT idx, entry FROM audit_entries ORDER BY idx").fetchall()',
    'idx, entry = next((i, bytes(e)) for i, e in rows if b"auditor" in bytes(e))',
    'db.execute("UPDATE audit_entries SET entry = ? WHERE idx = ?", (entry.replace(b"auditor", b"auditoX", 1), idx))',
    'db.commit()',
    'print(idx)',
  ].join('\n');
  const idx = await new Promise((resolve, reject) => {
    const c = spawn('python3', ['-c', script, path.join(server.data, 'callward.db')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => { out += d; });
    c.on('exit', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`python exit ${code}`))));
  });
  await page.goto(`${server.base}/console/audit`);
  await page.getByRole('button', { name: 'Verify now' }).click();
  const alert = page.locator('#verify-result');
  assert.equal(await alert.getAttribute('role'), 'alert');
  const text = await alert.textContent();
  assert.match(text, /FAILED\./);
  assert.match(text, new RegExp(`\\b${idx}\\b`), `names position ${idx}: ${text}`);
});
