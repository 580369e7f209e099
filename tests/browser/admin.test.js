// The administrator's read views: facilities with stations, and people.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { firstSignIn, launchBrowser, startServer } from './harness.js';

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

test('admin reads facilities, stations and people; at 375 px too', async () => {
  const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
  const page = await context.newPage();
  await firstSignIn(page, server.base, 'admin');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Facilities' }).click();
  await page.getByRole('heading', { name: 'Demo County Jail' }).waitFor();
  const facility = await page.locator('section').first().textContent();
  assert.match(facility, /station-101/);
  assert.match(facility, /Stations/);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `page is ${width}px wide`);

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'People' }).click();
  await page.getByRole('heading', { name: 'People' }).waitFor();
  const rows = page.locator('tbody tr');
  assert.equal(await rows.count(), 1, 'the demo has one person in custody');
  assert.match(await rows.first().textContent(), /yes/, 'with a PIN set');
  assert.ok(!(await page.content()).includes('246810'), 'never the PIN itself');
  await context.close();
});

test('an investigator cannot read the admin views', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await firstSignIn(page, server.base, 'investigator');
  for (const path of ['/console/admin/facilities', '/console/admin/people']) {
    const response = await page.goto(`${server.base}${path}`);
    assert.equal(response.status(), 403, path);
    assert.match(await page.getByRole('alert').textContent(), /Only an administrator/);
  }
  await context.close();
});
