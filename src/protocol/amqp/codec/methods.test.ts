import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AmqpError } from '../amqp-error.js';
import { amqplibDefs, toAmqplibInput, toAmqplibView } from './amqplib-oracle.js';
import { Writer } from './buffer-io.js';
import type { FieldTable } from './field-table.js';
import { Rng, SEED, randomTable } from './fuzz-values.js';
import {
  BASIC_ACK, BASIC_DELIVER, BASIC_GET_OK, BASIC_PUBLISH, BASIC_REJECT, BASIC_RETURN, CONFIRM_SELECT_OK,
  CONNECTION_START, CONNECTION_START_OK, EXCHANGE_DECLARE, METHOD_ARGS, QUEUE_DECLARE, QUEUE_DECLARE_OK, TX_SELECT,
  decodeMethod, encodeMethod, hasContent, methodName,
} from './methods.generated.js';
import type { AmqpMethod } from './methods.generated.js';

function randomArg(rng: Rng, type: string): unknown {
  switch (type) {
    case 'bit': return rng.bool();
    case 'octet': return rng.int(0, 255);
    case 'short': return rng.int(0, 0xffff);
    case 'long': return rng.next();
    case 'longlong': case 'timestamp': return rng.chance(0.2) ? Number.MAX_SAFE_INTEGER : rng.int(0, Number.MAX_SAFE_INTEGER);
    case 'shortstr': return rng.string(255);
    case 'longstr': return rng.bytes(rng.chance(0.1) ? rng.int(0, 5000) : rng.int(0, 40));
    case 'table': return randomTable(rng);
    default: throw new Error(`no generator for ${type}`);
  }
}

function randomMethod(rng: Rng, id: number): AmqpMethod {
  const m: Record<string, unknown> = { id };
  for (const [name, type] of METHOD_ARGS.get(id)!) m[name] = randomArg(rng, type);
  return m as unknown as AmqpMethod;
}

/** Encodes and checks the frame envelope; returns the method payload. */
function frame(m: AmqpMethod, channel: number, w = new Writer(8)): Buffer {
  encodeMethod(w, channel, m);
  const b = Buffer.from(w.toBuffer());
  assert.equal(b[0], 1, 'frame type METHOD');
  assert.equal(b.readUInt16BE(1), channel);
  assert.equal(b.readUInt32BE(3), b.length - 8, 'frame size');
  assert.equal(b[b.length - 1], 0xce, 'frame end');
  assert.equal(b.readUInt32BE(7), m.id);
  return b.subarray(7, b.length - 1);
}

function expectCode(fn: () => unknown, code: number, re?: RegExp): AmqpError {
  let err: AmqpError | undefined;
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AmqpError, `expected AmqpError, got ${String(e)}`);
    assert.equal(e.replyCode, code, e.message);
    if (re) assert.match(e.message, re);
    err = e;
    return true;
  });
  return err!;
}

/** amqplib's decoded form of one of our methods (tables in amqplib's value model). */
function amqplibView(m: AmqpMethod): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, type] of METHOD_ARGS.get(m.id)!) {
    const v = (m as unknown as Record<string, unknown>)[name];
    out[name] = type === 'table' ? toAmqplibView(v as FieldTable) : v;
  }
  return out;
}

describe('generated method codec', () => {
  it('has all 66 methods with names and content flags', () => {
    assert.equal(METHOD_ARGS.size, 66);
    assert.equal(methodName(BASIC_PUBLISH), 'basic.publish');
    assert.equal(methodName(CONFIRM_SELECT_OK), 'confirm.select-ok');
    assert.equal(methodName(0x00630001), 'class 99 method 1');
    assert.equal(BASIC_PUBLISH, 0x003c0028);
    assert.equal(TX_SELECT, (90 << 16) | 10);
    const content = [...METHOD_ARGS.keys()].filter(hasContent).sort();
    assert.deepStrictEqual(content, [BASIC_PUBLISH, BASIC_RETURN, BASIC_DELIVER, BASIC_GET_OK].sort());
  });

  it('round-trips random arguments for every method', () => {
    const rng = new Rng(SEED);
    const shared = new Writer(16);
    for (const id of METHOD_ARGS.keys()) {
      for (let i = 0; i < 60; i++) {
        const m = randomMethod(rng, id);
        const channel = rng.int(0, 0xffff);
        const payload = frame(m, channel);
        assert.deepStrictEqual(decodeMethod(payload), m, `${methodName(id)} seed ${SEED} iteration ${i}`);
        // Appending to a writer that already holds frames works the same.
        const before = shared.length;
        encodeMethod(shared, channel, m);
        assert.ok(Buffer.from(shared.toBuffer().subarray(before + 7, shared.length - 1)).equals(payload));
        if (shared.length > 100_000) shared.reset();
      }
    }
  });

  it('packs consecutive bits into one octet', () => {
    const payload = frame({ id: QUEUE_DECLARE, ticket: 0, queue: 'q', passive: false, durable: true,
      exclusive: false, autoDelete: true, nowait: true, arguments: {} }, 1);
    // class, method, ticket, shortstr 'q', one bits octet, empty table.
    assert.deepStrictEqual([...payload], [0, 50, 0, 10, 0, 0, 1, 0x71, 0b11010, 0, 0, 0, 0]);
  });

  it('fills omitted optional fields with the spec defaults', () => {
    const w = new Writer();
    encodeMethod(w, 1, { id: QUEUE_DECLARE_OK, queue: 'q', messageCount: 3, consumerCount: 1 });
    encodeMethod(w, 1, { id: BASIC_REJECT, deliveryTag: 9 });
    encodeMethod(w, 0, { id: CONNECTION_START, serverProperties: { product: 'warren' } });
    encodeMethod(w, 0, { id: CONNECTION_START_OK, clientProperties: {}, response: '\0guest\0guest' });
    const frames: Buffer[] = [];
    const all = w.toBuffer();
    for (let p = 0; p < all.length;) {
      const size = all.readUInt32BE(p + 3);
      frames.push(all.subarray(p + 7, p + 7 + size));
      p += size + 8;
    }
    assert.deepStrictEqual(decodeMethod(frames[0]!), { id: QUEUE_DECLARE_OK, queue: 'q', messageCount: 3, consumerCount: 1 });
    assert.deepStrictEqual(decodeMethod(frames[1]!), { id: BASIC_REJECT, deliveryTag: 9, requeue: true });
    assert.deepStrictEqual(decodeMethod(frames[2]!), { id: CONNECTION_START, versionMajor: 0, versionMinor: 9,
      serverProperties: { product: 'warren' }, mechanisms: Buffer.from('PLAIN'), locales: Buffer.from('en_US') });
    assert.deepStrictEqual(decodeMethod(frames[3]!), { id: CONNECTION_START_OK, clientProperties: {},
      mechanism: 'PLAIN', response: Buffer.from('\0guest\0guest'), locale: 'en_US' });
  });

  it('leaves the writer untouched when encoding fails', () => {
    const w = new Writer();
    encodeMethod(w, 1, { id: BASIC_ACK, deliveryTag: 1 });
    const before = Buffer.from(w.toBuffer());
    assert.throws(() => encodeMethod(w, 1, { id: BASIC_PUBLISH, routingKey: 'x'.repeat(256) }), /shortstr too long/);
    assert.throws(() => encodeMethod(w, 1, { id: BASIC_ACK, deliveryTag: -1 }), RangeError);
    assert.throws(() => encodeMethod(w, 1, { id: EXCHANGE_DECLARE, exchange: 'e', arguments: { f: (() => 1) as unknown as FieldTable } }), TypeError);
    assert.ok(w.toBuffer().equals(before));
  });

  it('reports unknown methods as 540 and truncated arguments as 502 naming the method', () => {
    const unknown = Buffer.from([0, 99, 0, 1]);
    expectCode(() => decodeMethod(unknown), 540, /unknown method class 99 method 1/);
    expectCode(() => decodeMethod(Buffer.from([0, 60])), 502, /shorter than class-id/);
    const rng = new Rng(SEED ^ 0x77);
    for (const id of METHOD_ARGS.keys()) {
      const payload = frame(randomMethod(rng, id), 1);
      for (let cut = 4; cut < payload.length; cut++) {
        const e = expectCode(() => decodeMethod(payload.subarray(0, cut)), 502, /truncated/);
        assert.match(e.message, new RegExp(`malformed ${methodName(id)} arguments`));
        assert.equal((e.classId << 16) | e.methodId, id);
        if (payload.length > 200) cut += 37; // long tables: sample the prefixes
      }
    }
  });

  it('decodes random garbage to a method or an AmqpError, never anything else', () => {
    const rng = new Rng(SEED ^ 0x99);
    const ids = [...METHOD_ARGS.keys()];
    for (let i = 0; i < 20000; i++) {
      const b = rng.bytes(rng.int(0, 60));
      if (b.length >= 4 && rng.chance(0.9)) b.writeUInt32BE(rng.pick(ids), 0);
      try {
        decodeMethod(b);
      } catch (e) {
        assert.ok(e instanceof AmqpError, `seed ${SEED} iteration ${i}: ${String(e)}`);
      }
    }
  });

  it('agrees with amqplib\'s generated codec in both directions', () => {
    const rng = new Rng(SEED ^ 0x55);
    for (const id of METHOD_ARGS.keys()) {
      for (let i = 0; i < 10; i++) {
        const m = randomMethod(rng, id);
        const payload = frame(m, 7);
        assert.deepStrictEqual({ ...amqplibDefs.decode(id, payload.subarray(4)) }, amqplibView(m), methodName(id));
        const fields: Record<string, unknown> = {};
        for (const [name, type] of METHOD_ARGS.get(id)!) {
          const v = (m as unknown as Record<string, unknown>)[name];
          fields[name] = type === 'table' ? toAmqplibInput(v as FieldTable) : v;
        }
        const theirs = amqplibDefs.encodeMethod(id, 7, fields);
        assert.ok(theirs.subarray(7, theirs.length - 1).equals(payload), `same bytes for ${methodName(id)}`);
      }
    }
  });
});
