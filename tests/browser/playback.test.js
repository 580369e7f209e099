// Playback and export in the page, against a real recorded call (SIPp as
// station and trunk): without an open case nothing plays and a forged
// press is refused and logged; inside a case Play shows an <audio> player
// that Chromium loads (byte ranges for seeking, this session only), one
// press being one access-log entry; Export downloads the WAV; both copies
// carry the watermark that names the investigator and the entry.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  auditEntries, firstSignIn, launchBrowser, listCalls, placeCall, startServer,
} from './harness.js';

let server;
let browser;
let recorded;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  await placeCall(server, 'station_call.xml');
  recorded = (await listCalls(server)).find((c) => c.recording_id);
});
after(async () => {
  await browser?.close();
  const exit = await server?.stop();
  assert.deepEqual(exit, { code: 0, signal: null });
});

/** `watermark detect --json` on a WAV. */
async function detect(wav) {
  const out = await server.cli('watermark', '--data-dir', server.data, 'detect', wav, '--json', '--reason', 'browser test');
  assert.equal(out.code, 0, out.stderr);
  return JSON.parse(out.stdout);
}

function wavHeader(bytes) {
  assert.equal(bytes.toString('ascii', 0, 4), 'RIFF');
  assert.equal(bytes.toString('ascii', 8, 12), 'WAVE');
  return { channels: bytes.readUInt16LE(22), rate: bytes.readUInt32LE(24), bits: bytes.readUInt16LE(34) };
}

const withRecording = (log) => log.filter((e) => e.includes(recorded.recording_id));

test('an investigator plays and exports a recording inside a case, each logged once and watermarked', async () => {
  assert.ok(recorded, 'the call is recorded');
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  await firstSignIn(page, server.base, 'investigator');
  const callPage = `${server.base}/console/calls/${recorded.id}`;

  // No case: no controls, and a forged press is refused and logged.
  await page.goto(callPage);
  assert.match(await page.locator('#no-playback').textContent(), /no open case/);
  assert.equal(await page.getByRole('button', { name: 'Play' }).count(), 0);
  const me = await (await page.request.get(`${server.base}/api/v1/me`)).json();
  let before = withRecording(await auditEntries(server.data)).length;
  const forged = await page.request.post(`${callPage}/play`, { form: { csrf: me.csrf, case: '' } });
  assert.equal(forged.status(), 403);
  assert.match(await forged.text(), /only inside an open case|no open case/);
  assert.equal(withRecording(await auditEntries(server.data)).length, before + 1, 'the refusal is logged');

  // Open a case on the Cases page (a too-short justification first).
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Cases' }).click();
  await page.getByRole('heading', { name: 'Cases', exact: true }).waitFor();
  await page.locator('#no-cases').waitFor();
  await page.getByLabel('Title').fill('Playback 1');
  await page.getByLabel('Justification').fill('short');
  await page.evaluate(() => document.getElementById('justification').removeAttribute('minlength'));
  await page.getByRole('button', { name: 'Open case' }).click();
  assert.match(await page.getByRole('alert').textContent(), /justification/i);
  assert.equal(await page.locator('#cases').count(), 0, 'nothing opened');
  await page.getByLabel('Justification').fill('assault inquiry, warrant 26-201');
  await page.getByRole('button', { name: 'Open case' }).click();
  const openedText = await page.getByRole('status').textContent();
  const caseId = Number(/Case (\d+) is open/.exec(openedText)[1]);
  const caseRow = page.locator('#cases tbody tr').first();
  assert.match(await caseRow.textContent(), /Playback 1.*assault inquiry, warrant 26-201.*by investigator.*open/s);
  assert.ok((await auditEntries(server.data)).some((e) => e.includes('assault inquiry, warrant 26-201')), 'the opening is logged');

  // Play: one entry, then the player loads the watermarked copy.
  await page.goto(callPage);
  before = withRecording(await auditEntries(server.data)).length;
  await page.locator('#play').getByRole('button', { name: 'Play' }).click();
  await page.getByRole('heading', { name: 'Play recording' }).waitFor();
  const released = await page.locator('#released').textContent();
  const entry = Number(/entry (\d+)/.exec(released)[1]);
  const seconds = Number(/(\d+\.\d) s/.exec(released)[1]);
  assert.ok(seconds > 5, released);
  await page.waitForFunction(() => {
    const a = document.getElementById('player');
    return a.readyState >= 1 && a.duration > 0;
  }, null, { timeout: 15_000 });
  const duration = await page.locator('#player').evaluate((a) => a.duration);
  assert.ok(Math.abs(duration - seconds) < 0.2, `player ${duration} s, released ${seconds} s`);

  // Seeking reads the held copy: a range is 206 and logs nothing more.
  const src = `${server.base}${await page.locator('#player').getAttribute('src')}`;
  const head = await page.request.get(src, { headers: { Range: 'bytes=0-43' } });
  assert.equal(head.status(), 206);
  assert.match(head.headers()['content-range'], /^bytes 0-43\/\d+$/);
  assert.deepEqual(wavHeader(await head.body()), { channels: 2, rate: 8000, bits: 16 });
  const past = await page.request.get(src, { headers: { Range: 'bytes=999999999-' } });
  assert.equal(past.status(), 416);
  const whole = await page.request.get(src);
  assert.equal(whole.status(), 200);
  assert.equal(whole.headers()['cache-control'], 'no-store');
  const played = path.join(server.dir, 'played.wav');
  fs.writeFileSync(played, await whole.body());
  const added = withRecording(await auditEntries(server.data)).slice(before);
  assert.equal(added.length, 1, 'one press, one entry, however the player fetches');

  const mark = await detect(played);
  assert.equal(mark.user, 'investigator');
  assert.equal(mark.action, 'playback');
  assert.equal(mark.entry_index, entry);

  // Another session, even a signed-in one, cannot fetch the copy.
  const other = await (await browser.newContext()).newPage();
  await firstSignIn(other, server.base, 'supervisor');
  assert.equal((await other.request.get(src)).status(), 404);

  // Export: a reason is needed; then a download, logged and watermarked.
  await page.goto(callPage);
  const exportForm = page.locator('#export');
  await exportForm.getByLabel('Reason for the export').fill('for the prosecutor, case 26-201');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    exportForm.getByRole('button', { name: 'Export WAV' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), `call-${recorded.id}.wav`);
  const exported = path.join(server.dir, 'exported.wav');
  await download.saveAs(exported);
  assert.deepEqual(wavHeader(fs.readFileSync(exported)), { channels: 2, rate: 8000, bits: 16 });
  const exportMark = await detect(exported);
  assert.equal(exportMark.user, 'investigator');
  assert.equal(exportMark.action, 'export');
  assert.equal(exportMark.justification, 'for the prosecutor, case 26-201');
  assert.ok(exportMark.entry_index > entry);

  // Closing the case ends playback: the call page offers it no more.
  await page.goto(`${server.base}/console/cases`);
  await page.getByRole('button', { name: `Close case ${caseId}` }).click();
  assert.match(await page.getByRole('status').textContent(), new RegExp(`Case ${caseId} is closed`));
  assert.match(await page.locator('#cases tbody tr').first().textContent(), /closed \d{4}-/);
  await page.goto(callPage);
  assert.match(await page.locator('#no-playback').textContent(), /no open case/);
  const late = await page.request.post(`${callPage}/play`, { form: { csrf: me.csrf, case: String(caseId) } });
  assert.equal(late.status(), 403, 'a closed case releases nothing');
});
