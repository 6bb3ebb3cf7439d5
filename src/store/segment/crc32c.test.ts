import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32c } from './crc32c.js';

test('crc32c: standard check values (RFC 3720 B.4 and the usual "123456789")', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  const inc = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) inc[i] = i;
  assert.equal(crc32c(inc), 0x46dd794e);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
});

test('crc32c: ranges and continuation agree with one pass', () => {
  const buf = Buffer.from('the quick brown fox jumps over the lazy dog, twice over the lazy dog');
  const whole = crc32c(buf);
  for (let split = 0; split <= buf.length; split += 7) {
    assert.equal(crc32c(buf, split, buf.length, crc32c(buf, 0, split)), whole);
  }
  const padded = Buffer.concat([Buffer.from('xx'), buf, Buffer.from('yy')]);
  assert.equal(crc32c(padded, 2, 2 + buf.length), whole);
});
