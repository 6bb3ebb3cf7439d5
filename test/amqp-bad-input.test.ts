import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import amqp from 'amqplib';
import * as M from '../src/protocol/amqp/codec/methods.generated.js';
import { encodeProperties } from '../src/protocol/amqp/codec/properties.js';
import type { TestBroker } from './helpers/broker.js';
import { startTestBroker } from './helpers/broker.js';
import { frame, methodBytes, RawClient } from './helpers/raw-client.js';

/**
 * Malformed input closes the offending connection (or channel) with the right reply code and a
 * text that says what was wrong, while the broker keeps serving everyone else.
 */
describe('bad input', () => {
  let b: TestBroker;
  let bystander: amqp.ChannelModel;
  let bystanderCh: amqp.Channel;

  before(async () => {
    b = await startTestBroker();
    bystander = await amqp.connect(b.url);
    bystanderCh = await bystander.createChannel();
    await bystanderCh.assertQueue('bystander');
  });

  after(async () => {
    // The bystander connection saw every bad client come and go and still works.
    await bystanderCh.sendToQueue('bystander', Buffer.from('still here'));
    const m = await waitGet(bystanderCh, 'bystander');
    assert.equal(m.content.toString(), 'still here');
    await bystander.close();
    await b.stop();
  });

  async function expectConnectionClose(c: RawClient, code: number, textPattern: RegExp): Promise<void> {
    const close = await c.nextMethod(M.CONNECTION_CLOSE) as M.ConnectionClose;
    assert.equal(close.replyCode, code, `reply code (text: ${close.replyText})`);
    assert.match(close.replyText, textPattern);
    c.send(0, { id: M.CONNECTION_CLOSE_OK });
    await c.waitClosed();
  }

  test('a wrong protocol header is answered with the 0-9-1 header, then the socket closes', async () => {
    const c = await RawClient.connect(b.port);
    c.write(Buffer.from('AMQP\x01\x01\x00\x0a', 'latin1'));
    await c.waitClosed();
    assert.deepEqual(c.header, Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
  });

  test('an HTTP request on the AMQP port gets the protocol header and a close', async () => {
    const c = await RawClient.connect(b.port);
    c.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await c.waitClosed();
    assert.deepEqual(c.header, Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
  });

  test('a wrong frame-end byte → 501 FRAME_ERROR', async () => {
    const c = await RawClient.open(b.port);
    const good = methodBytes(1, { id: M.BASIC_QOS, prefetchCount: 1 });
    good[good.length - 1] = 0x00;
    c.write(good);
    await expectConnectionClose(c, 501, /FRAME_ERROR.*frame.end/i);
  });

  test('a frame over the negotiated frame_max → 501 FRAME_ERROR', async () => {
    const c = await RawClient.open(b.port, { frameMax: 4096 });
    c.write(frame(3, 1, Buffer.alloc(5000)));
    await expectConnectionClose(c, 501, /FRAME_ERROR/);
  });

  test('a body longer than the content header announced → 501 FRAME_ERROR', async () => {
    const c = await RawClient.open(b.port);
    c.send(1, { id: M.BASIC_PUBLISH, exchange: '', routingKey: 'bystander' });
    c.write(header(1, 4));
    c.write(frame(3, 1, Buffer.from('too long')));
    await expectConnectionClose(c, 501, /exceeds the 4 bytes/);
  });

  test('a truncated property list → 502 SYNTAX_ERROR, offsets counted from the properties', async () => {
    const c = await RawClient.open(b.port);
    // content-type flag set, its shortstr says 10 bytes, 2 follow; sent in the publish's chunk.
    const props = Buffer.from([0x80, 0x00, 10, 0x61, 0x62]);
    const payload = Buffer.alloc(12 + props.length);
    payload.writeUInt16BE(60, 0);
    payload.writeBigUInt64BE(1n, 4);
    props.copy(payload, 12);
    c.write(Buffer.concat([methodBytes(1, { id: M.BASIC_PUBLISH, exchange: '', routingKey: 'bystander' }), frame(2, 1, payload)]));
    await expectConnectionClose(c, 502, /needed 10 byte\(s\) at offset 3, only 2 left/);
  });

  test('an unknown class/method → 540 NOT_IMPLEMENTED', async () => {
    const c = await RawClient.open(b.port);
    const payload = Buffer.from([0, 99, 0, 1]);
    c.write(frame(1, 1, payload));
    await expectConnectionClose(c, 540, /unknown method class 99 method 1/);
  });

  test('a truncated method → 502 SYNTAX_ERROR', async () => {
    const c = await RawClient.open(b.port);
    const m = methodBytes(1, { id: M.QUEUE_DECLARE, queue: 'x' });
    const payload = m.subarray(7, 7 + 8); // cut inside the arguments
    c.write(frame(1, 1, payload));
    await expectConnectionClose(c, 502, /SYNTAX_ERROR/);
  });

  test('a bad field table → 502 SYNTAX_ERROR', async () => {
    const c = await RawClient.open(b.port);
    const m = methodBytes(1, { id: M.QUEUE_DECLARE, queue: 'badtable', arguments: { 'x-a': 1 } });
    const payload = Buffer.from(m.subarray(7, m.length - 1));
    // The table's last entry: key "x-a" tag 'I'; replace the tag by an unknown one.
    const tagAt = payload.lastIndexOf(Buffer.from('x-a')) + 3;
    payload[tagAt] = 'Q'.charCodeAt(0);
    c.write(frame(1, 1, payload));
    await expectConnectionClose(c, 502, /SYNTAX_ERROR/);
  });

  test('a method on a channel that was never opened → 504 CHANNEL_ERROR', async () => {
    const c = await RawClient.open(b.port, { channel: false });
    c.send(7, { id: M.QUEUE_DECLARE, queue: 'x' });
    await expectConnectionClose(c, 504, /CHANNEL_ERROR.*channel\.open/);
  });

  test('a method on a channel after it was closed → 504 CHANNEL_ERROR', async () => {
    const c = await RawClient.open(b.port);
    c.send(1, { id: M.CHANNEL_CLOSE, replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 });
    await c.nextMethod(M.CHANNEL_CLOSE_OK);
    c.send(1, { id: M.BASIC_QOS, prefetchCount: 1 });
    await expectConnectionClose(c, 504, /CHANNEL_ERROR/);
  });

  test('a second channel.open on an open channel → 504 CHANNEL_ERROR', async () => {
    const c = await RawClient.open(b.port);
    c.send(1, { id: M.CHANNEL_OPEN });
    await expectConnectionClose(c, 504, /second 'channel.open'/);
  });

  test('a content header without basic.publish → 505 UNEXPECTED_FRAME', async () => {
    const c = await RawClient.open(b.port);
    c.write(header(1, 3));
    await expectConnectionClose(c, 505, /UNEXPECTED_FRAME/);
  });

  test('a method where body frames were due → 505 UNEXPECTED_FRAME', async () => {
    const c = await RawClient.open(b.port);
    c.send(1, { id: M.BASIC_PUBLISH, exchange: '', routingKey: 'bystander' });
    c.write(header(1, 10));
    c.send(1, { id: M.BASIC_QOS, prefetchCount: 1 });
    await expectConnectionClose(c, 505, /UNEXPECTED_FRAME/);
  });

  test('a heartbeat on a non-zero channel → 501 FRAME_ERROR', async () => {
    const c = await RawClient.open(b.port);
    c.write(frame(8, 1, Buffer.alloc(0)));
    await expectConnectionClose(c, 501, /heartbeat/);
  });

  test('a channel above channel_max → 530 NOT_ALLOWED', async () => {
    const c = await RawClient.open(b.port, { channel: false });
    c.send(4000, { id: M.CHANNEL_OPEN });
    await expectConnectionClose(c, 530, /channel_max/);
  });

  test('a method the server sends but a client may not → 503 COMMAND_INVALID', async () => {
    const c = await RawClient.open(b.port);
    c.send(1, { id: M.BASIC_GET_EMPTY });
    await expectConnectionClose(c, 503, /not allowed from a client/);
  });

  test('a channel error closes only the channel; the connection goes on', async () => {
    const c = await RawClient.open(b.port);
    c.send(1, { id: M.QUEUE_DECLARE, queue: 'no-such-queue', passive: true });
    const close = await c.nextMethod(M.CHANNEL_CLOSE) as M.ChannelClose;
    assert.equal(close.replyCode, 404);
    assert.equal(close.classId, 50);
    assert.equal(close.methodId, 10);
    assert.match(close.replyText, /NOT_FOUND - no queue 'no-such-queue' in vhost '\/'/);
    // Until close-ok, anything else on the channel is ignored (§1.5.2.5).
    c.send(1, { id: M.BASIC_QOS, prefetchCount: 1 });
    c.send(1, { id: M.CHANNEL_CLOSE_OK });
    c.send(2, { id: M.CHANNEL_OPEN });
    await c.nextMethod(M.CHANNEL_OPEN_OK);
    c.send(2, { id: M.QUEUE_DECLARE, queue: 'bystander', passive: true });
    const ok = await c.nextMethod(M.QUEUE_DECLARE_OK) as M.QueueDeclareOk;
    assert.equal(ok.queue, 'bystander');
    assert.equal(c.frames.filter((f) => f.method?.id === M.BASIC_QOS_OK).length, 0);
    c.destroy();
  });

  test('random bytes after the handshake never crash the broker (fuzz)', async () => {
    let seed = 12345;
    const rand = (n: number): number => {
      // mulberry32: good low bits, unlike a bare LCG
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    for (let round = 0; round < 40; round++) {
      const c = await RawClient.open(b.port);
      const junk = Buffer.alloc(1 + rand(300));
      for (let i = 0; i < junk.length; i++) junk[i] = rand(256);
      // Half the rounds: a plausible frame header so the parser gets past the first bytes.
      if (round % 2 === 0 && junk.length > 8) {
        junk[0] = 1 + rand(3);
        junk.writeUInt16BE(1, 1);
        junk.writeUInt32BE(junk.length - 8, 3);
      }
      c.write(junk);
      // Either the broker closes the connection with an error, or it waits for more bytes.
      await Promise.race([c.nextMethod(M.CONNECTION_CLOSE, 300).catch(() => undefined), c.waitClosed(300).catch(() => undefined)]);
      c.destroy();
    }
    const conn = await amqp.connect(b.url);
    const ch = await conn.createChannel();
    const q = await ch.checkQueue('bystander');
    assert.equal(q.queue, 'bystander');
    await conn.close();
  });
});

function header(channel: number, bodySize: number): Buffer {
  const props = encodeProperties({});
  const payload = Buffer.alloc(12 + props.length);
  payload.writeUInt16BE(60, 0);
  payload.writeUInt16BE(0, 2);
  payload.writeBigUInt64BE(BigInt(bodySize), 4);
  props.copy(payload, 12);
  return frame(2, channel, payload);
}

async function waitGet(ch: amqp.Channel, queue: string): Promise<amqp.GetMessage> {
  for (let i = 0; i < 200; i++) {
    const m = await ch.get(queue, { noAck: true });
    if (m) return m;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`no message on ${queue}`);
}
