// Approvals (two-person rule): an investigator asks to release more
// recordings, a supervisor sees who asked, why and for what, and approves
// or refuses; the decision is in the access log; nobody approves their own
// request, not even by posting the form by hand.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  auditEntries, firstSignIn, launchBrowser, signIn, startServer,
} from './harness.js';

let server;
let browser;
let investigator; // signed in by the first test, used again by the second
let investigatorSecret;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  const exit = await server?.stop();
  assert.deepEqual(exit, { code: 0, signal: null });
});

async function ask(page, count, reason) {
  await page.goto(`${server.base}/console/approvals`);
  await page.getByLabel('Recordings', { exact: true }).fill(String(count));
  await page.getByLabel('Why', { exact: true }).fill(reason);
  await page.getByRole('button', { name: 'Ask for approval' }).click();
  const result = await page.getByRole('status').textContent();
  const id = Number(/Request (\d+) for/.exec(result)?.[1]);
  assert.ok(id > 0, result);
  return id;
}

test('an investigator asks, a supervisor approves and refuses; both are logged first', async () => {
  investigator = await (await browser.newContext()).newPage();
  investigatorSecret = await firstSignIn(investigator, server.base, 'investigator');
  await investigator.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Approvals' }).click();
  await investigator.getByRole('heading', { name: 'Approvals' }).waitFor();

  // A reason too short changes nothing and says why.
  await investigator.getByLabel('Recordings', { exact: true }).fill('3');
  await investigator.getByLabel('Why', { exact: true }).fill('short');
  await investigator.getByRole('button', { name: 'Ask for approval' }).click();
  assert.match(await investigator.getByRole('alert').textContent(), /Why: .*10/);
  assert.match(await investigator.locator('#waiting + p').textContent(), /Nothing is waiting/);

  const bulk = await ask(investigator, 120, 'Case 24-117: all calls to the co-defendant since March');
  const quota = await ask(investigator, 3, 'Three more calls for the grand jury exhibit list');

  const supervisor = await (await browser.newContext({ viewport: { width: 375, height: 740 } })).newPage();
  await firstSignIn(supervisor, server.base, 'supervisor');
  await supervisor.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Approvals' }).click();
  const card = supervisor.locator('section', { has: supervisor.getByRole('heading', { name: `Request ${bulk}: 120 recordings` }) });
  const text = await card.textContent();
  assert.match(text, /Asked by\s*investigator/);
  assert.match(text, /a bulk export/);
  assert.match(text, /co-defendant since March/);
  assert.match(
    await supervisor.locator('section', { has: supervisor.getByRole('heading', { name: `Request ${quota}: 3 recordings` }) }).textContent(),
    /more than the daily quota/,
  );
  const width = await supervisor.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `page is ${width}px wide`);
  // No ask form for a supervisor (they cannot export).
  assert.equal(await supervisor.getByRole('button', { name: 'Ask for approval' }).count(), 0);

  const before = (await auditEntries(server.data)).length;
  await card.getByRole('button', { name: 'Approve' }).click();
  assert.match(await supervisor.getByRole('status').textContent(), new RegExp(`Request ${bulk} is now granted`));
  assert.match(await supervisor.locator(`#request-${bulk}`).textContent(), /granted.*supervisor/);
  const entries = await auditEntries(server.data);
  assert.equal(entries.length, before + 1, 'one entry for the decision');
  assert.ok(entries.at(-1).includes('supervisor') && entries.at(-1).includes('co-defendant since March'));

  await supervisor.locator('section', { has: supervisor.getByRole('heading', { name: `Request ${quota}: 3 recordings` }) })
    .getByRole('button', { name: 'Refuse' }).click();
  assert.match(await supervisor.getByRole('status').textContent(), new RegExp(`Request ${quota} is now refused`));
  assert.match(await supervisor.getByRole('status').textContent(), /refused/);

  // The investigator sees the results of their own requests.
  await investigator.goto(`${server.base}/console/approvals`);
  assert.match(await investigator.locator(`#request-${bulk}`).textContent(), /granted/);
  assert.match(await investigator.locator(`#request-${quota}`).textContent(), /refused/);
});

test('nobody approves their own request, not even by posting the form', async () => {
  const page = investigator;
  const own = await ask(page, 2, 'Two calls for the witness tampering inquiry');

  // The same person becomes a supervisor (an administrator's change).
  const changed = await server.cli('admin', '--data-dir', server.data, 'user', 'set-role', 'investigator', 'supervisor');
  assert.equal(changed.code, 0, changed.stderr);
  // A role change ends the person's sessions: sign in again.
  await page.goto(`${server.base}/console/approvals`);
  assert.match(page.url(), /\/console\/sign-in$/);
  await signIn(page, server.base, 'investigator', investigatorSecret);
  await page.goto(`${server.base}/console/approvals`);
  const card = page.locator('section', { has: page.getByRole('heading', { name: `Request ${own}: 2 recordings` }) });
  assert.match(await card.textContent(), /Your own request: another supervisor decides/);
  assert.equal(await card.getByRole('button').count(), 0, 'no buttons on one\'s own request');

  // Posting the decision by hand is refused, logged, and changes nothing.
  const csrf = await page.locator('header input[name=csrf]').getAttribute('value');
  const before = (await auditEntries(server.data)).length;
  const response = await page.request.post(`${server.base}/console/approvals/${own}/grant`, { form: { csrf } });
  assert.equal(response.status(), 403);
  assert.match(await response.text(), /approver must be a different person/);
  const entries = await auditEntries(server.data);
  assert.equal(entries.length, before + 1, 'the refusal is logged');
  await page.reload();
  assert.match(await card.textContent(), /Your own request/, 'still waiting');

  // Without the CSRF token, nothing at all.
  const forged = await page.request.post(`${server.base}/console/approvals/${own}/refuse`, { form: { csrf: 'x' } });
  assert.equal(forged.status(), 403);
  await page.reload();
  assert.match(await card.textContent(), /Your own request/, 'still waiting');
});
