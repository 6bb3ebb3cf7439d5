import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AmqpError } from '../amqp-error.js';
import { amqplibCodec, toAmqplibInput, toAmqplibView } from './amqplib-oracle.js';
import { Reader, Writer } from './buffer-io.js';
import { fieldNumber, fieldString, tablesEqual } from './field-table.js';
import type { FieldTable, FieldValue } from './field-table.js';
import { Rng, SEED, randomTable } from './fuzz-values.js';

function encode(t: FieldTable | undefined): Buffer {
  const w = new Writer(8);
  w.table(t);
  return Buffer.from(w.toBuffer());
}

function decode(b: Buffer): FieldTable {
  const r = new Reader(b);
  const t = r.table();
  assert.equal(r.pos, b.length, 'table decode consumed every byte');
  return t;
}

function expectCode(fn: () => unknown, code: number, re?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AmqpError, `expected AmqpError, got ${String(e)}`);
    assert.equal(e.replyCode, code, e.message);
    if (re) assert.match(e.message, re);
    return true;
  });
}

describe('field tables', () => {
  it('round-trips random tables with every tag, value-wise and byte-wise', () => {
    const rng = new Rng(SEED);
    const seen = new Set<number>();
    for (let i = 0; i < 1500; i++) {
      const t = randomTable(rng);
      const bytes = encode(t);
      for (const b of bytes) seen.add(b);
      const back = decode(bytes);
      assert.deepStrictEqual(back, t, `seed ${SEED} iteration ${i}`);
      assert.ok(encode(back).equals(bytes), `byte-exact re-encode, seed ${SEED} iteration ${i}`);
      assert.ok(tablesEqual(back, t));
    }
    for (const tag of 'tbBsuIilfdDSxTFAV') assert.ok(seen.has(tag.charCodeAt(0)), `tag ${tag} generated`);
  });

  it('encodes plain JS values with the documented tags', () => {
    const tagOf = (v: FieldValue): string => String.fromCharCode(encode({ k: v })[6]!);
    assert.equal(tagOf(true), 't');
    assert.equal(tagOf(7), 'I');
    assert.equal(tagOf(-0x8000_0000), 'I');
    assert.equal(tagOf(0x8000_0000), 'l');
    assert.equal(tagOf(2 ** 53 - 1), 'l');
    assert.equal(tagOf(2 ** 60), 'd');
    assert.equal(tagOf(1.5), 'd');
    assert.equal(tagOf(-0), 'd');
    assert.equal(tagOf(NaN), 'd');
    assert.equal(tagOf(5n), 'l');
    assert.equal(tagOf('s'), 'S');
    assert.equal(tagOf(Buffer.from('x')), 'x');
    assert.equal(tagOf(new Date(0)), 'T');
    assert.equal(tagOf(null), 'V');
    assert.equal(tagOf([]), 'A');
    assert.equal(tagOf({ a: 1 }), 'F');
    assert.equal(tagOf({ type: 'u', value: 3 }), 'u');
    assert.equal(tagOf({ type: 'u', value: 3, extra: 1 }), 'F', 'a third key makes it a table');
    // Non-canonical plain values decode to the exact wire type.
    assert.deepStrictEqual(decode(encode({ a: 2 ** 40, b: 3.0 })), { a: 2n ** 40n, b: 3 });
    assert.deepStrictEqual(decode(encode({ a: -0 })), { a: { type: 'd', value: -0 } });
    assert.deepStrictEqual(decode(encode({ a: undefined } as unknown as FieldTable)), { a: null });
    assert.deepStrictEqual(decode(encode({ d: new Date(1500) })), { d: new Date(1000) }, 'whole seconds');
  });

  it('keeps a __proto__ key as data', () => {
    const w = new Writer();
    w.u32(0);
    w.shortStr('__proto__');
    w.u8(0x49);
    w.i32(5);
    const b = Buffer.from(w.toBuffer());
    b.writeUInt32BE(b.length - 4, 0);
    const t = decode(b);
    assert.equal(Object.getPrototypeOf(t), Object.prototype);
    assert.deepStrictEqual(Object.keys(t), ['__proto__']);
    assert.ok(encode(t).equals(b));
  });

  it('rejects malformed tables with 502 saying what was wrong', () => {
    expectCode(() => decode(Buffer.from([0, 0, 0, 9, 1, 0x6b])), 502, /truncated/);
    expectCode(() => decode(Buffer.from([0, 0, 0, 3, 1, 0x6b, 0x5a])), 502, /unknown field value type 0x5a/);
    expectCode(() => decode(Buffer.from([0, 0, 0, 3, 1, 0x6b, 0x49])), 502, /truncated/);
    // A nested table claiming more bytes than its parent holds.
    expectCode(() => decode(Buffer.from([0, 0, 0, 7, 1, 0x6b, 0x46, 0, 0, 0, 9])), 502, /truncated/);
    // Deep nesting is a 502, not a stack overflow.
    let inner = Buffer.alloc(4);
    for (let i = 0; i < 500; i++) {
      const next = Buffer.alloc(4 + 2 + 1 + inner.length);
      next.writeUInt32BE(next.length - 4, 0);
      next[4] = 0; // empty key
      next[5] = 0x46; // 'F', whose value is the previous (inner) table
      inner.copy(next, 6);
      inner = next.subarray(0, 6 + inner.length);
      inner.writeUInt32BE(inner.length - 4, 0);
    }
    expectCode(() => decode(inner), 502, /nested deeper/);
    // A timestamp beyond the Date range.
    const ts = Buffer.from([0, 0, 0, 11, 1, 0x6b, 0x54, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expectCode(() => decode(ts), 502, /Date range/);
  });

  it('never throws anything but AmqpError on random bytes', () => {
    const rng = new Rng(SEED ^ 0x1111);
    let ok = 0;
    for (let i = 0; i < 5000; i++) {
      // Mutate a valid encoding so the fuzz gets past the first few bytes.
      const b = Buffer.from(encode(randomTable(rng)));
      for (let k = rng.int(1, 4); k > 0; k--) b[rng.int(0, b.length - 1)] = rng.next() & 0xff;
      try {
        new Reader(b).table();
        ok++;
      } catch (e) {
        assert.ok(e instanceof AmqpError && e.replyCode === 502, `seed ${SEED} iteration ${i}: ${String(e)}`);
      }
    }
    assert.ok(ok > 0);
  });

  it('tablesEqual is deep, type-aware and order-insensitive', () => {
    assert.ok(tablesEqual(undefined, {}));
    assert.ok(tablesEqual({}, undefined));
    assert.ok(tablesEqual({ a: 1, b: 'x' }, { b: 'x', a: 1 }));
    assert.ok(!tablesEqual({ a: 1 }, { a: 1n }), 'I vs l');
    assert.ok(!tablesEqual({ a: 1 }, { a: '1' }));
    assert.ok(tablesEqual({ a: 1 }, { a: { type: 'I', value: 1 } }), 'same wire type and value');
    assert.ok(!tablesEqual({ a: { type: 'b', value: 1 } }, { a: { type: 'B', value: 1 } }));
    assert.ok(tablesEqual({ a: [1, { b: Buffer.from('x') }] }, { a: [1, { b: Buffer.from('x') }] }));
    assert.ok(!tablesEqual({ a: [1, { b: Buffer.from('x') }] }, { a: [1, { b: Buffer.from('y') }] }));
    assert.ok(!tablesEqual({ a: [1] }, { a: [1, 2] }));
    assert.ok(!tablesEqual({ a: 1 }, { a: 1, b: 2 }));
    assert.ok(!tablesEqual({ a: 1 }, { b: 1 }));
    assert.ok(tablesEqual({ a: null }, { a: undefined } as unknown as FieldTable));
    assert.ok(tablesEqual({ a: NaN }, { a: NaN }));
    assert.ok(tablesEqual({ d: { type: 'D', value: { scale: 2, value: 5 } } }, { d: { type: 'D', value: { scale: 2, value: 5 } } }));
    assert.ok(!tablesEqual({ d: { type: 'D', value: { scale: 1, value: 5 } } }, { d: { type: 'D', value: { scale: 2, value: 5 } } }));
    const rng = new Rng(SEED ^ 0x2222);
    for (let i = 0; i < 300; i++) {
      const t = randomTable(rng);
      assert.ok(tablesEqual(t, decode(encode(t))));
      const u = randomTable(rng);
      assert.equal(tablesEqual(t, u), encode(t).equals(encode(u)) || tablesEqual(u, t));
    }
  });

  it('fieldNumber and fieldString read x-arguments', () => {
    assert.equal(fieldNumber(5), 5);
    assert.equal(fieldNumber(5n), 5);
    assert.equal(fieldNumber({ type: 's', value: -3 }), -3);
    assert.equal(fieldNumber({ type: 'l', value: 7n }), 7);
    assert.equal(fieldNumber({ type: 'D', value: { scale: 2, value: 150 } }), 1.5);
    assert.equal(fieldNumber('5'), undefined);
    assert.equal(fieldNumber(undefined), undefined);
    assert.equal(fieldString('all'), 'all');
    assert.equal(fieldString(Buffer.from('any')), 'any');
    assert.equal(fieldString(1), undefined);
  });

  it('agrees with amqplib\'s codec in both directions', () => {
    const rng = new Rng(SEED ^ 0x3333);
    const scratch = Buffer.alloc(1 << 20);
    for (let i = 0; i < 500; i++) {
      const t = randomTable(rng);
      const ours = encode(t);
      assert.deepStrictEqual(amqplibCodec.decodeFields(ours.subarray(4)), toAmqplibView(t), `seed ${SEED} iteration ${i}`);
      const len = amqplibCodec.encodeTable(scratch, toAmqplibInput(t), 0);
      const theirs = scratch.subarray(0, len);
      assert.ok(theirs.equals(ours), `same bytes as amqplib, seed ${SEED} iteration ${i}`);
      assert.deepStrictEqual(decode(theirs), t);
    }
  });
});
