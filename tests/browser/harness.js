// The browser tests' harness: one `callward serve --demo` on a fresh data
// dir with free loopback ports, and headless Chromium driven by
// playwright-core. Real parts only: the binary scripts/test already built
// (it builds nothing itself) and Debian's /usr/bin/chromium.
//
//   CALLWARD_BIN  the binary (default: $CARGO_TARGET_DIR or ../../target, debug/callward)
//   CHROMIUM      the browser (default: /usr/bin/chromium)

import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..');

/** The callward binary under test. */
export function binary() {
  if (process.env.CALLWARD_BIN) return process.env.CALLWARD_BIN;
  const target = process.env.CARGO_TARGET_DIR
    ? path.resolve(repo, process.env.CARGO_TARGET_DIR)
    : path.join(repo, 'target');
  return path.join(target, 'debug', 'callward');
}

/** A UDP port free a moment ago (for SIP and the trunk). */
async function freeUdpPort() {
  const socket = dgram.createSocket('udp4');
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', resolve);
  });
  const { port } = socket.address();
  await new Promise((resolve) => socket.close(resolve));
  return port;
}

/**
 * `callward serve --demo` in a fresh temporary directory (data dir and
 * agency keys inside it). Resolves once /healthz answers 200; `stop()`
 * sends SIGTERM, waits for the exit and removes the directory.
 */
export async function startServer() {
  const bin = binary();
  if (!fs.existsSync(bin)) {
    throw new Error(`${bin} is missing: build it first (scripts/test does) or set CALLWARD_BIN`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'callward-browser-'));
  const data = path.join(dir, 'data');
  const sip = `127.0.0.1:${await freeUdpPort()}`;
  const trunkPort = await freeUdpPort();
  const args = [
    'serve', '--log-format', 'json', '--demo', '--data-dir', data,
    '--http-listen', '127.0.0.1:0',
    '--sip-listen', sip,
    '--trunk', `127.0.0.1:${trunkPort}`,
  ];
  const env = { ...process.env };
  delete env.RUST_LOG;
  const child = spawn(bin, args, { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const log = [];
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stderr });
    lines.on('line', (line) => {
      log.push(line);
      try {
        const fields = JSON.parse(line).fields ?? {};
        if (fields.message === 'callward ready') resolve(fields.http_addr);
      } catch {
        // Not a JSON log line: kept in `log` for failure messages.
      }
    });
    exited.then(({ code, signal }) =>
      reject(new Error(`serve exited (${code ?? signal}) before it was ready:\n${log.join('\n')}`)));
    setTimeout(() => reject(new Error(`serve not ready in 30 s:\n${log.join('\n')}`)), 30_000).unref();
  });
  let addr;
  try {
    addr = await ready;
  } catch (e) {
    child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const base = `http://${addr}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = await fetch(`${base}/healthz`).then((r) => r.status, () => 0);
    if (status === 200) break;
    if (Date.now() > deadline) throw new Error(`/healthz answered ${status} for 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    data,
    dir,
    log,
    sip,
    trunkPort,
    /** Runs `callward ARGS...` on this server's data dir; resolves to {code, stdout, stderr}. */
    cli(...cliArgs) {
      return new Promise((resolve) => {
        const c = spawn(bin, cliArgs, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (d) => { stdout += d; });
        c.stderr.on('data', (d) => { stderr += d; });
        c.on('exit', (code) => resolve({ code, stdout, stderr }));
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const result = await exited;
      clearTimeout(timer);
      fs.rmSync(dir, { recursive: true, force: true });
      return result;
    },
  };
}

/** Headless Chromium (Debian's). */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    // Containers and CI run as root without a user namespace sandbox.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

/** Decodes RFC 4648 base32 (no padding needed), as authenticator apps do. */
export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.replace(/[\s=]/g, '').toUpperCase()) {
    const index = alphabet.indexOf(ch);
    if (index < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** The RFC 6238 code (HMAC-SHA1, 30 s steps, 6 digits) for `secret` at `unixSeconds`. */
export function totp(secret, unixSeconds = Date.now() / 1000) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = createHmac('sha1', secret).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(code).padStart(6, '0');
}

/** Waits until the next 30 s TOTP step begins, so a fresh code is not a replay. */
export async function nextTotpStep() {
  const ms = 30_000 - (Date.now() % 30_000) + 200;
  await new Promise((r) => setTimeout(r, ms));
}

/**
 * Makes every session in `data` look idle for `minutes` (the server then
 * decides what that means). Uses Python's sqlite3, which scripts/test
 * already needs for bench/run; the database is in WAL mode, so this is an
 * ordinary second writer.
 */
export async function ageSessions(data, minutes) {
  const ms = Math.round(minutes * 60_000);
  const script = [
    'import sqlite3, sys',
    'db = sqlite3.connect(sys.argv[1], timeout=10)',
    'db.execute("UPDATE sessions SET last_seen_ms = last_seen_ms - ?, created_ms = created_ms - ?", (int(sys.argv[2]), int(sys.argv[2])))',
    'db.commit()',
    'print(db.total_changes)',
  ].join('\n');
  const { code, stdout, stderr } = await new Promise((resolve) => {
    const c = spawn('python3', ['-c', script, path.join(data, 'callward.db'), String(ms)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => { out += d; });
    c.stderr.on('data', (d) => { err += d; });
    c.on('exit', (exitCode) => resolve({ code: exitCode, stdout: out, stderr: err }));
  });
  if (code !== 0) throw new Error(`ageing sessions failed: ${stderr}`);
  return Number(stdout.trim());
}

/** Whether the browser context holds a session cookie. */
export async function hasSessionCookie(context) {
  return (await context.cookies()).some((c) => c.name === 'callward_session' && c.value !== '');
}

/**
 * Signs `username` (password `demo-<username>`) in for the first time:
 * password, then the enrolment page; reads the secret off the page and
 * confirms with the code it computes. Returns the secret.
 */
export async function firstSignIn(page, base, username) {
  await page.goto(`${base}/console/sign-in`);
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(`demo-${username}`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
  const secret = base32Decode(await page.locator('#secret').textContent());
  await page.getByLabel('Code the app shows now').fill(totp(secret));
  await page.getByRole('button', { name: 'Confirm and sign in' }).click();
  await page.getByRole('heading', { name: 'Home' }).waitFor();
  return secret;
}

/** Runs SIPp with a scenario of the switch's tests; resolves to its exit code. */
function sipp(scenario, work, args) {
  fs.mkdirSync(work, { recursive: true });
  const pcap = path.join(work, 'pcap');
  if (!fs.existsSync(pcap)) fs.symlinkSync('/usr/share/sip-tester', pcap);
  const child = spawn('sipp', [
    '-sf', path.join(repo, 'crates', 'switch', 'tests', 'sipp', scenario),
    '-i', '127.0.0.1', '-mi', '127.0.0.1', '-nostdin', '-timeout', '120s', '-timeout_error', '-trace_err',
    ...args,
  ], { cwd: work, stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

/**
 * One real call through `server`: SIPp as station-101 running
 * `stationScenario` (e.g. station_call.xml, station_attorney.xml) and SIPp
 * as the trunk answering and pressing 1. Resolves when both have finished
 * and the call record is stored (read back with `calls list`).
 */
export async function placeCall(server, stationScenario) {
  const before = await callCount(server);
  const work = path.join(server.dir, 'sipp', String(Date.now()));
  const trunk = sipp('trunk_answer_accept.xml', path.join(work, 'trunk'), [
    '-p', String(server.trunkPort), '-mp', String(await freeUdpPort()), '-m', '1',
  ]);
  const station = sipp(stationScenario, path.join(work, 'station'), [
    '-p', String(await freeUdpPort()), '-mp', String(await freeUdpPort()),
    '-m', '1', '-l', '1', '-r', '1', server.sip,
  ]);
  const [stationCode, trunkCode] = await Promise.all([station, trunk]);
  if (stationCode !== 0 || trunkCode !== 0) {
    throw new Error(`SIPp failed (station ${stationCode}, trunk ${trunkCode}); see ${work}:\n${server.log.slice(-20).join('\n')}`);
  }
  const deadline = Date.now() + 10_000;
  while ((await callCount(server)) <= before) {
    if (Date.now() > deadline) throw new Error('no new call record within 10 s');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The call records `callward calls list --json` returns (logged as a local read). */
export async function listCalls(server) {
  const { code, stdout, stderr } = await server.cli('calls', '--data-dir', server.data, 'list', '--json');
  if (code !== 0) throw new Error(`calls list failed: ${stderr}`);
  return JSON.parse(stdout);
}

async function callCount(server) {
  return (await listCalls(server)).length;
}

/**
 * The access log's entries as stored (canonical encoding, read as Latin-1
 * text so names and ids can be looked for), oldest first.
 */
export async function auditEntries(data) {
  const script = [
    'import json, sqlite3, sys',
    'db = sqlite3.connect(sys.argv[1], timeout=10)',
    'rows = db.execute("SELECT entry FROM audit_entries ORDER BY idx").fetchall()',
    'print(json.dumps([bytes(r[0]).decode("latin-1") for r in rows]))',
  ].join('\n');
  const { code, stdout, stderr } = await new Promise((resolve) => {
    const c = spawn('python3', ['-c', script, path.join(data, 'callward.db')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => { out += d; });
    c.stderr.on('data', (d) => { err += d; });
    c.on('exit', (exitCode) => resolve({ code: exitCode, stdout: out, stderr: err }));
  });
  if (code !== 0) throw new Error(`reading the access log failed: ${stderr}`);
  return JSON.parse(stdout);
}

/**
 * Signs `username` in again once enrolled: password and the code for
 * `secret`. Waits for the next TOTP step first, so the code is never a
 * replay of the one the last sign-in used.
 */
export async function signIn(page, base, username, secret) {
  await nextTotpStep();
  await page.goto(`${base}/console/sign-in`);
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(`demo-${username}`);
  await page.getByLabel('Code from your authenticator app').fill(totp(secret));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Home' }).waitFor();
}
