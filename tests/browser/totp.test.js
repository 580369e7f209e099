// The test code's own TOTP must be RFC 6238's: its appendix B vectors.
import assert from 'node:assert/strict';
import test from 'node:test';
import { base32Decode, totp } from './harness.js';

test('totp matches RFC 6238 appendix B (SHA-1, last 6 digits)', () => {
  const secret = Buffer.from('12345678901234567890');
  for (const [t, code] of [[59, '287082'], [1111111109, '081804'], [1234567890, '005924'], [2000000000, '279037']]) {
    assert.equal(totp(secret, t), code);
  }
});

test('base32 decodes RFC 4648 vectors', () => {
  assert.equal(base32Decode('MZXW6YTBOI').toString(), 'foobar');
  assert.equal(base32Decode('mzxw6ytboi======').toString(), 'foobar');
  assert.throws(() => base32Decode('M1'));
});
