import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AmqpError } from '../amqp-error.js';
import { amqplibDefs, toAmqplibInput, toAmqplibView } from './amqplib-oracle.js';
import { Writer } from './buffer-io.js';
import { decodeContentHeader, writeContentHeaderFrame } from './content-header.js';
import type { FieldTable } from './field-table.js';
import { Rng, SEED, randomTable } from './fuzz-values.js';
import { decodeProperties, encodeProperties, readDeliveryMode, readExpiration, readPriority } from './properties.js';
import type { BasicProperties } from './properties.js';

const STRING_PROPS = ['contentType', 'contentEncoding', 'correlationId', 'replyTo', 'expiration', 'messageId',
  'type', 'userId', 'appId', 'clusterId'] as const;

function randomProperties(rng: Rng): BasicProperties {
  const p: BasicProperties = {};
  for (const k of STRING_PROPS) if (rng.bool()) p[k] = rng.string(255);
  if (rng.bool()) p.headers = randomTable(rng);
  if (rng.bool()) p.deliveryMode = rng.int(0, 255);
  if (rng.bool()) p.priority = rng.int(0, 255);
  if (rng.bool()) p.timestamp = rng.int(0, Number.MAX_SAFE_INTEGER);
  return p;
}

function expect502(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => e instanceof AmqpError && e.replyCode === 502 && /truncated/.test(e.message));
}

describe('basic properties', () => {
  it('round-trips random subsets and the fast paths agree with the full decode', () => {
    const rng = new Rng(SEED);
    for (let i = 0; i < 3000; i++) {
      const p = randomProperties(rng);
      const raw = encodeProperties(p);
      const back = decodeProperties(raw);
      assert.deepStrictEqual(back, p, `seed ${SEED} iteration ${i}`);
      assert.ok(encodeProperties(back).equals(raw));
      assert.equal(readDeliveryMode(raw), p.deliveryMode ?? 0);
      assert.equal(readPriority(raw), p.priority ?? 0);
      assert.equal(readExpiration(raw), p.expiration);
    }
  });

  it('encodes no properties as a zero flags word', () => {
    assert.deepStrictEqual([...encodeProperties({})], [0, 0]);
    assert.deepStrictEqual(decodeProperties(Buffer.from([0, 0])), {});
    assert.deepStrictEqual([...encodeProperties({ deliveryMode: 2 })], [0x10, 0, 2]);
  });

  it('skips continued property-flags words', () => {
    const raw = encodeProperties({ contentType: 'a', deliveryMode: 2, expiration: '60', priority: 4 });
    // Same list behind flags word 1 (bit 0 = continued) + two more words.
    const continued = Buffer.concat([raw.subarray(0, 2), Buffer.from([0x00, 0x03, 0x00, 0x00]), raw.subarray(2)]);
    continued[1]! |= 1;
    assert.deepStrictEqual(decodeProperties(continued), { contentType: 'a', deliveryMode: 2, priority: 4, expiration: '60' });
    assert.equal(readDeliveryMode(continued), 2);
    assert.equal(readPriority(continued), 4);
    assert.equal(readExpiration(continued), '60');
  });

  it('rejects truncated property lists with 502 on every path', () => {
    const rng = new Rng(SEED ^ 0xabc);
    for (let i = 0; i < 300; i++) {
      const p = randomProperties(rng);
      const raw = encodeProperties(p);
      for (let cut = 0; cut < raw.length; cut += 1 + (raw.length >> 4)) {
        const short = raw.subarray(0, cut);
        expect502(() => decodeProperties(short));
        // The fast paths only need the bytes up to their property.
        for (const read of [readDeliveryMode, readPriority, readExpiration]) {
          try {
            read(short);
          } catch (e) {
            assert.ok(e instanceof AmqpError && e.replyCode === 502, String(e));
          }
        }
      }
      expect502(() => readDeliveryMode(Buffer.alloc(1)));
    }
    // Headers length beyond the buffer must not be jumped over blindly.
    const bad = Buffer.from([0x30, 0, 0, 0, 0, 50, 2]);
    expect502(() => readDeliveryMode(bad));
    expect502(() => readPriority(Buffer.from([0x08, 0])));
    expect502(() => readExpiration(Buffer.from([0x01, 0, 5, 0x61])));
  });

  it('agrees with amqplib\'s properties codec in both directions', () => {
    const rng = new Rng(SEED ^ 0xdef);
    for (let i = 0; i < 300; i++) {
      const p = randomProperties(rng);
      const fields: Record<string, unknown> = { ...p };
      if (p.headers) fields.headers = toAmqplibInput(p.headers);
      const frame = amqplibDefs.encodeProperties(60, 3, 1234, fields);
      const payload = frame.subarray(7, frame.length - 1);
      const h = decodeContentHeader(payload);
      assert.equal(h.classId, 60);
      assert.equal(h.bodySize, 1234);
      assert.deepStrictEqual(decodeProperties(h.rawProperties), p, `seed ${SEED} iteration ${i}`);
      assert.ok(h.rawProperties.equals(encodeProperties(p)), 'same bytes as amqplib');
      const view = amqplibDefs.decode(60, encodeProperties(p));
      const expected: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(view)) if (v !== undefined) expected[k] = v;
      const ours: Record<string, unknown> = { ...p };
      if (p.headers) ours.headers = toAmqplibView(p.headers as FieldTable);
      assert.deepStrictEqual(expected, ours);
    }
  });
});

describe('content header', () => {
  it('writes and decodes header frames', () => {
    const w = new Writer(4);
    const raw = encodeProperties({ contentType: 'text/plain', deliveryMode: 2 });
    writeContentHeaderFrame(w, 5, 60, 2 ** 40 + 3, raw);
    const b = w.toBuffer();
    assert.equal(b[0], 2);
    assert.equal(b.readUInt16BE(1), 5);
    assert.equal(b.readUInt32BE(3), b.length - 8);
    assert.equal(b[b.length - 1], 0xce);
    const h = decodeContentHeader(b.subarray(7, b.length - 1));
    assert.deepStrictEqual({ classId: h.classId, bodySize: h.bodySize }, { classId: 60, bodySize: 2 ** 40 + 3 });
    assert.ok(h.rawProperties.equals(raw));
    assert.equal(h.rawProperties.buffer, b.buffer, 'a view, not a copy');
  });

  it('rejects short payloads and unsafe body sizes with 502', () => {
    const is502 = (e: unknown): boolean => e instanceof AmqpError && e.replyCode === 502;
    assert.throws(() => decodeContentHeader(Buffer.alloc(13)), is502);
    const p = Buffer.alloc(14);
    p.writeUInt32BE(0x0020_0000, 4);
    assert.throws(() => decodeContentHeader(p), (e: unknown) => is502(e) && /MAX_SAFE_INTEGER/.test(String(e)));
  });

  it('leaves the writer untouched when the arguments are bad', () => {
    const w = new Writer();
    assert.throws(() => writeContentHeaderFrame(w, 1, 60, -1, Buffer.alloc(2)), RangeError);
    assert.equal(w.length, 0);
  });
});
