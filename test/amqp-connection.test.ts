import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import amqp from 'amqplib';
import { Writer } from '../src/protocol/amqp/codec/buffer-io.js';
import * as M from '../src/protocol/amqp/codec/methods.generated.js';
import { encodeProperties } from '../src/protocol/amqp/codec/properties.js';
import type { TestBroker } from './helpers/broker.js';
import { startTestBroker } from './helpers/broker.js';
import { frame, RawClient } from './helpers/raw-client.js';

describe('connection', () => {
  let b: TestBroker;
  before(async () => {
    b = await startTestBroker({ heartbeat: 1 });
  });
  after(async () => {
    await b.stop();
  });

  test('connection.start announces RabbitMQ capabilities and both SASL mechanisms', async () => {
    const c = await RawClient.connect(b.port);
    c.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
    const start = await c.nextMethod(M.CONNECTION_START) as M.ConnectionStart;
    assert.equal(start.versionMajor, 0);
    assert.equal(start.versionMinor, 9);
    assert.equal(start.mechanisms.toString(), 'PLAIN AMQPLAIN');
    const props = start.serverProperties;
    assert.equal(props.product, 'Warren');
    const caps = props.capabilities as Record<string, unknown>;
    for (const cap of ['publisher_confirms', 'exchange_exchange_bindings', 'basic.nack', 'consumer_cancel_notify',
      'connection.blocked', 'authentication_failure_close', 'per_consumer_qos', 'direct_reply_to']) {
      assert.equal(caps[cap], true, cap);
    }
    c.destroy();
  });

  test('amqplib connects with PLAIN and sees the server properties', async () => {
    const conn = await amqp.connect(b.url);
    assert.equal(conn.connection.serverProperties.product, 'Warren');
    await conn.close();
  });

  test('AMQPLAIN login works', async () => {
    const c = await RawClient.connect(b.port);
    c.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
    await c.nextMethod(M.CONNECTION_START);
    const w = new Writer();
    w.table({ LOGIN: 'guest', PASSWORD: 'guest' });
    const response = Buffer.from(w.toBuffer().subarray(4)); // AMQPLAIN: table without its length
    c.send(0, { id: M.CONNECTION_START_OK, clientProperties: {}, mechanism: 'AMQPLAIN', response, locale: 'en_US' });
    const tune = await c.nextMethod(M.CONNECTION_TUNE) as M.ConnectionTune;
    assert.equal(tune.frameMax, 131072);
    assert.equal(tune.channelMax, 2047);
    assert.equal(tune.heartbeat, 1);
    c.destroy();
  });

  test('a wrong password is refused with 403 ACCESS_REFUSED', async () => {
    await assert.rejects(amqp.connect(b.url.replace('guest:guest', 'guest:wrong')), /ACCESS_REFUSED|403/);
    await assert.rejects(amqp.connect(b.url.replace('guest:guest', 'nobody:guest')), /ACCESS_REFUSED|403/);
  });

  test('an unknown vhost is refused with 530 NOT_ALLOWED', async () => {
    await assert.rejects(amqp.connect(`${b.url}/nope`), /ConnectionClose/);
    const c = await RawClient.connect(b.port);
    c.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
    await c.nextMethod(M.CONNECTION_START);
    c.send(0, { id: M.CONNECTION_START_OK, clientProperties: {}, mechanism: 'PLAIN', response: '\0guest\0guest', locale: 'en_US' });
    await c.nextMethod(M.CONNECTION_TUNE);
    c.send(0, { id: M.CONNECTION_TUNE_OK, channelMax: 10, frameMax: 131072, heartbeat: 0 });
    c.send(0, { id: M.CONNECTION_OPEN, virtualHost: 'nope' });
    const close = await c.nextMethod(M.CONNECTION_CLOSE) as M.ConnectionClose;
    assert.equal(close.replyCode, 530);
    assert.match(close.replyText, /NOT_ALLOWED - vhost 'nope' not found/);
    c.destroy();
  });

  test('an unknown SASL mechanism closes the connection', async () => {
    const c = await RawClient.connect(b.port);
    c.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
    await c.nextMethod(M.CONNECTION_START);
    c.send(0, { id: M.CONNECTION_START_OK, clientProperties: {}, mechanism: 'CRAM-MD5', response: 'x', locale: 'en_US' });
    const close = await c.nextMethod(M.CONNECTION_CLOSE) as M.ConnectionClose;
    assert.equal(close.replyCode, 503);
    assert.match(close.replyText, /CRAM-MD5/);
    c.destroy();
  });

  test('frame_max below the minimum in tune-ok → 530', async () => {
    const c = await RawClient.connect(b.port);
    c.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
    await c.nextMethod(M.CONNECTION_START);
    c.send(0, { id: M.CONNECTION_START_OK, clientProperties: {}, mechanism: 'PLAIN', response: '\0guest\0guest', locale: 'en_US' });
    await c.nextMethod(M.CONNECTION_TUNE);
    c.send(0, { id: M.CONNECTION_TUNE_OK, channelMax: 10, frameMax: 1000, heartbeat: 0 });
    const close = await c.nextMethod(M.CONNECTION_CLOSE) as M.ConnectionClose;
    assert.equal(close.replyCode, 530);
    c.destroy();
  });

  test('the broker sends heartbeats and drops a peer that stays silent for two intervals', async () => {
    const c = await RawClient.open(b.port, { heartbeat: 1, channel: false });
    await c.next((f) => f.type === 8, 2000, 'a heartbeat frame');
    // We never send anything: after two intervals (2 s) the broker must drop us.
    await c.waitClosed(4000);
  });

  test('a peer that sends heartbeats stays connected', async () => {
    const c = await RawClient.open(b.port, { heartbeat: 1, channel: false });
    const beat = setInterval(() => c.write(frame(8, 0, Buffer.alloc(0))), 400);
    try {
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal(c.closed, false);
    } finally {
      clearInterval(beat);
      c.destroy();
    }
  });

  test('bodies are split into frames no larger than the negotiated frame_max', async () => {
    const c = await RawClient.open(b.port, { frameMax: 4096 });
    c.send(1, { id: M.QUEUE_DECLARE, queue: 'framesplit', exclusive: true });
    await c.nextMethod(M.QUEUE_DECLARE_OK);
    const body = Buffer.alloc(10_000, 7);
    c.send(1, { id: M.BASIC_PUBLISH, exchange: '', routingKey: 'framesplit' });
    const props = encodeProperties({ contentType: 'application/octet-stream' });
    const hp = Buffer.alloc(12 + props.length);
    hp.writeUInt16BE(60, 0);
    hp.writeBigUInt64BE(BigInt(body.length), 4);
    props.copy(hp, 12);
    c.write(frame(2, 1, hp));
    for (let off = 0; off < body.length; off += 4088) c.write(frame(3, 1, body.subarray(off, off + 4088)));
    c.send(1, { id: M.BASIC_GET, queue: 'framesplit', noAck: true });
    await c.nextMethod(M.BASIC_GET_OK);
    await c.next((f) => f.type === 2);
    let received = 0;
    while (received < body.length) {
      const f = await c.next((x) => x.type === 3);
      assert.ok(f.payload.length + 8 <= 4096, `body frame of ${f.payload.length} bytes`);
      assert.ok(f.payload.every((x) => x === 7));
      received += f.payload.length;
    }
    assert.equal(received, body.length);
    c.destroy();
  });

  test('client connection.close gets close-ok and the broker closes the socket', async () => {
    const c = await RawClient.open(b.port);
    c.send(0, { id: M.CONNECTION_CLOSE, replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 });
    await c.nextMethod(M.CONNECTION_CLOSE_OK);
    await c.waitClosed();
  });
});

describe('graceful shutdown', () => {
  test('stopping the broker closes clients with 320 CONNECTION_FORCED', async () => {
    const b = await startTestBroker();
    const conn = await amqp.connect(b.url);
    const closed = new Promise<Error>((resolve) => conn.on('close', resolve));
    await b.stop();
    const err = await closed;
    assert.match(err.message, /CONNECTION_FORCED/);
    assert.equal((err as Error & { code?: number }).code, 320);
  });
});
