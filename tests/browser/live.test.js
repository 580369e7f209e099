// Live monitoring in the browser: the investigator's "Live calls" page
// lists a real call in progress (SIPp as station and trunk), refuses to
// offer listening without an open case, and inside a case plays the call's
// audio through the page's WebSocket and WebAudio player until the call
// ends. The call itself completes normally, recorded whole, and the
// listening is in the access log.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  auditEntries, firstSignIn, launchBrowser, listCalls, placeCall, startServer,
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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Reloads /console/live until a call is listed; returns its form. */
async function listedCall(page) {
  const deadline = Date.now() + 40_000;
  for (;;) {
    await page.goto(`${server.base}/console/live`);
    const rows = page.locator('#live-calls tbody tr');
    if ((await rows.count()) > 0) return rows.first();
    if (Date.now() > deadline) throw new Error(`no live call listed within 40 s:\n${server.log.slice(-20).join('\n')}`);
    await sleep(250);
  }
}

test('an investigator listens to a call in progress inside a case, and the call is unaffected', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await firstSignIn(page, server.base, 'investigator');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Live calls' }).click();
  await page.getByRole('heading', { name: 'Live calls' }).waitFor();
  await page.locator('#no-calls').waitFor();
  assert.match(await page.locator('#no-case').textContent(), /no open case/);

  // A call in progress, without a case: listed, nothing to listen with.
  const placed = placeCall(server, 'station_call.xml');
  let row = await listedCall(page);
  assert.match(await row.textContent(), /\+15551230001/);
  assert.match(await row.textContent(), /no open case/);
  assert.equal(await row.getByRole('button', { name: 'Listen' }).count(), 0);

  // Open a case (the session's CSRF token, as the page's own forms carry it).
  const me = await (await page.request.get(`${server.base}/api/v1/me`)).json();
  const opened = await page.request.post(`${server.base}/api/v1/cases`, {
    headers: { 'X-CSRF-Token': me.csrf, Origin: server.base },
    data: { title: 'Live 1', justification: 'contraband investigation, warrant 26-114' },
  });
  assert.equal(opened.status(), 201, await opened.text());
  const caseId = (await opened.json()).id;

  row = await listedCall(page);
  const form = row.locator('form[data-live]');
  const callId = await form.getAttribute('data-live');
  assert.equal(await form.getByLabel('Case').inputValue(), String(caseId));
  const logBefore = (await auditEntries(server.data)).length;
  await form.getByRole('button', { name: 'Listen' }).click();
  // Audio arrives: at least a second of it (8 kHz, two A-law channels).
  await page.waitForFunction(
    () => Number(document.querySelector('form[data-live] .live-status').dataset.bytes) >= 16_000,
    null,
    { timeout: 20_000 },
  );
  assert.match(await form.locator('.live-status').textContent(), /Listening \(logged\)/);
  assert.equal(await form.getByRole('button', { name: 'Listen' }).isDisabled(), true);
  const added = (await auditEntries(server.data)).slice(logBefore);
  assert.ok(added.some((e) => e.includes(callId) && e.includes('investigator')), 'the listening is logged');

  // The call goes on to its end; the socket closes with it.
  await placed;
  await page.waitForFunction(
    () => document.querySelector('form[data-live] .live-status').dataset.ended === 'true',
    null,
    { timeout: 20_000 },
  );
  assert.match(await form.locator('.live-status').textContent(), /^Ended: \d+\.\d s received\.$/);
  const call = (await listCalls(server)).find((c) => c.id === callId);
  assert.ok(call, 'the monitored call has its record');
  assert.ok(call.recording_id, 'and its recording');
  assert.equal(call.disposition, 'completed', 'listening did not disturb the call');
});
