// The investigator's call search and call detail against real calls (SIPp
// as station and trunk): filters and paging; a privileged call shows no
// number and no audio; without an open case nothing plays or exports, and
// the page says why; every read is in the access log before the page.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  auditEntries, firstSignIn, launchBrowser, listCalls, placeCall, startServer,
} from './harness.js';

let server;
let browser;
let calls;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  await placeCall(server, 'station_call.xml');
  await placeCall(server, 'station_attorney.xml');
  calls = await listCalls(server);
});
after(async () => {
  await browser?.close();
  const exit = await server?.stop();
  assert.deepEqual(exit, { code: 0, signal: null });
});

test('investigator searches, pages and opens calls; privileged stays hidden', async () => {
  assert.equal(calls.length, 2);
  const recorded = calls.find((c) => !c.privileged);
  const privileged = calls.find((c) => c.privileged);
  assert.ok(recorded?.recording_id, 'the ordinary call is recorded');
  assert.equal(privileged?.recording_id, null, 'the attorney call is not');

  const context = await browser.newContext();
  const page = await context.newPage();
  await firstSignIn(page, server.base, 'investigator');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Call search' }).click();
  await page.getByRole('heading', { name: 'Call search' }).waitFor();

  // Everything: both calls, the attorney's number nowhere on the page.
  await page.getByRole('button', { name: 'Search' }).click();
  assert.match(await page.locator('#count').textContent(), /^2 calls/);
  let html = await page.content();
  assert.ok(html.includes('+15551230001'), 'an ordinary call shows its number');
  assert.ok(!html.includes('5559870001'), 'a privileged number never reaches the page');
  assert.match(await page.locator('tbody').textContent(), /withheld \(privileged\)/);

  // Filters: by number (never finds the privileged call), privileged only.
  await page.getByLabel('Number called').fill('555 123 0001');
  await page.getByRole('button', { name: 'Search' }).click();
  assert.match(await page.locator('#count').textContent(), /^1 call /);
  assert.equal(await page.locator('tbody tr').count(), 1);
  assert.ok((await page.locator('tbody').textContent()).includes(recorded.id));
  await page.getByLabel('Number called').fill('555 987 0001');
  await page.getByRole('button', { name: 'Search' }).click();
  assert.match(await page.locator('#count').textContent(), /No calls match/);
  await page.getByLabel('Number called').fill('');
  await page.getByLabel('privileged (attorney)').check();
  await page.getByRole('button', { name: 'Search' }).click();
  assert.equal(await page.locator('tbody tr').count(), 1);
  assert.ok((await page.locator('tbody').textContent()).includes(privileged.id));
  await page.getByLabel('privileged (attorney)').uncheck();

  // A bad filter is an error on the page, not a server failure.
  await page.getByLabel('At least (seconds)').fill('-5');
  await page.getByLabel('At least (seconds)').evaluate((e) => { e.type = 'text'; e.value = 'soon'; });
  await page.getByRole('button', { name: 'Search' }).click();
  assert.match(await page.getByRole('alert').textContent(), /At least: give whole seconds/);
  await page.getByLabel('At least (seconds)').fill('');

  // Paging: one per page, oldest first; the next page holds the other.
  await page.getByLabel('Per page').fill('1');
  await page.getByRole('button', { name: 'Search' }).click();
  const first = await page.locator('tbody tr').textContent();
  assert.equal(await page.locator('tbody tr').count(), 1);
  await page.locator('#next').click();
  const second = await page.locator('tbody tr').textContent();
  assert.equal(await page.locator('tbody tr').count(), 1);
  assert.notEqual(first, second);
  assert.ok(first.includes(calls[0].id) && second.includes(calls[1].id), 'pages in offered order');

  // The recorded call: number shown; no open case, so no playback, and why.
  const viewsBefore = (await auditEntries(server.data)).filter((e) => e.includes(recorded.id)).length;
  await page.goto(`${server.base}/console/calls/${recorded.id}`);
  assert.equal((await page.locator('#number').textContent()).trim(), '+15551230001');
  assert.match(await page.locator('#no-playback').textContent(),
    /cannot play or export this recording: only inside an open case.*no open case/s);
  assert.equal(await page.locator('audio').count(), 0);
  const views = (await auditEntries(server.data)).filter((e) => e.includes(recorded.id) && e.includes('investigator'));
  assert.equal(views.length, viewsBefore + 1, 'the view is in the access log');

  // The privileged call: no number, no audio.
  await page.goto(`${server.base}/console/calls/${privileged.id}`);
  assert.equal((await page.locator('#number').textContent()).trim(), 'withheld (privileged)');
  assert.match(await page.locator('#recording').textContent(), /never recorded\. There is no audio/);
  assert.equal(await page.locator('audio').count(), 0);
  html = await page.content();
  assert.ok(!html.includes('5559870001'));
  assert.ok((await auditEntries(server.data)).some((e) => e.includes(privileged.id)), 'logged too');

  // An unknown id is a page that says so.
  const missing = await page.goto(`${server.base}/console/calls/no-such-call`);
  assert.equal(missing.status(), 404);
  assert.match(await page.getByRole('alert').textContent(), /No call has that id/);
  await context.close();
});

test('an administrator cannot search calls', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await firstSignIn(page, server.base, 'admin');
  assert.equal(await page.getByRole('link', { name: 'Call search' }).count(), 0);
  const response = await page.goto(`${server.base}/console/calls`);
  assert.equal(response.status(), 403);
  assert.match(await page.getByRole('alert').textContent(), /cannot search call records/);
  await context.close();
});
