// The harness itself: serve --demo starts on free ports, Chromium reaches
// it, and SIGTERM stops it cleanly.
import assert from 'node:assert/strict';
import test from 'node:test';
import { launchBrowser, startServer } from './harness.js';

test('serve --demo answers headless Chromium and stops on SIGTERM', async () => {
  const server = await startServer();
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    const response = await page.goto(`${server.base}/healthz`);
    assert.equal(response.status(), 200);
    assert.equal((await page.textContent('body')).trim(), 'ok');
  } finally {
    await browser.close();
    const exit = await server.stop();
    assert.deepEqual(exit, { code: 0, signal: null });
  }
});
