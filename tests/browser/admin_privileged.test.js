// Verifying an attorney's number in the console seals earlier recordings
// as `callward admin privileged verify` does, through the server's key
// directory: a real call recorded by SIPp (media ports 17500-17999), the
// number registered with the CLI (which seals it at once), then verified
// in the page, whose sealing run finds that recording already sealed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { auditEntries, firstSignIn, launchBrowser, listCalls, repo, startServer } from './harness.js';

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

/** SIPp with one of the switch's scenarios; resolves to its exit code. */
function sipp(scenario, work, args) {
  fs.mkdirSync(work, { recursive: true });
  const pcap = path.join(work, 'pcap');
  if (!fs.existsSync(pcap)) fs.symlinkSync('/usr/share/sip-tester', pcap);
  const child = spawn('sipp', [
    '-sf', path.join(repo, 'crates', 'switch', 'tests', 'sipp', scenario),
    '-i', '127.0.0.1', '-mi', '127.0.0.1', '-nostdin', '-timeout', '120s', '-timeout_error',
    ...args,
  ], { cwd: work, stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

test('verifying in the console runs the sealing run over the real recordings', async () => {
  const work = path.join(server.dir, 'sipp-admin');
  const trunk = sipp('trunk_answer_accept.xml', path.join(work, 'trunk'), [
    '-p', String(server.trunkPort), '-mp', '17500', '-m', '1',
  ]);
  const station = sipp('station_call.xml', path.join(work, 'station'), [
    '-p', '17600', '-mp', '17700', '-m', '1', '-l', '1', '-r', '1', server.sip,
  ]);
  assert.deepEqual(await Promise.all([station, trunk]), [0, 0], 'SIPp station and trunk');
  let calls = [];
  for (let i = 0; i < 50 && !calls.some((c) => c.recording_id); i += 1) {
    calls = await listCalls(server);
    if (!calls.some((c) => c.recording_id)) await new Promise((r) => setTimeout(r, 200));
  }
  const recorded = calls.find((c) => c.recording_id);
  assert.ok(recorded, 'a recorded call');

  const reg = await server.cli('admin', '--data-dir', server.data, 'privileged', 'register',
    '--number', '+15551230001', '--attorney', 'Pat Counsel', '--bar-number', '24000009', '--bar-state', 'TX');
  assert.equal(reg.code, 0, reg.stderr);
  assert.match(reg.stdout, /sealed 1 earlier recordings/);

  const context = await browser.newContext();
  const page = await context.newPage();
  await firstSignIn(page, server.base, 'admin');
  await page.goto(`${server.base}/console/admin/privileged`);
  const before = (await auditEntries(server.data)).length;
  await page.getByRole('button', { name: 'Verify +15551230001' }).click();
  await page.getByRole('status').waitFor();
  assert.match(await page.getByRole('status').textContent(),
    /Registration verified; sealed 0 earlier recordings of calls to it for privilege review \(1 already sealed, 0 unreadable: epoch shredded, 0 missing\)/);
  const added = (await auditEntries(server.data)).slice(before);
  assert.match(added[0], /verified by admin/, 'the verification is logged first');
  assert.ok(added.slice(1).every((e) => e.includes(recorded.recording_id)), 'then each recording the run touched');
  assert.ok(!added.some((e) => e.includes('5551230001')), 'never the full number');
  const list = await server.cli('admin', '--data-dir', server.data, '--json', 'privileged', 'list');
  const r = JSON.parse(list.stdout).find((x) => x.number === '+15551230001');
  assert.equal(r.verification, 'verified');
  const seals = await server.cli('recordings', '--data-dir', server.data, 'seals');
  assert.equal(seals.code, 0, seals.stderr);
  assert.equal((seals.stdout.match(/admin/g) ?? []).length, 1, `the console's run is recorded by admin:\n${seals.stdout}`);
  await context.close();
});
