/**
 * Permission checks on AMQP operations, through amqplib, as RabbitMQ makes them (its access-control
 * table): alice may configure, write and read only names starting "alice."; every operation on
 * "other." names is refused with 403 and RabbitMQ's text, checked before the object is looked up;
 * passive declares check nothing; a new queue's DLX and a new exchange's AE need write; changed
 * permissions apply to the next operation of an open channel; topic permissions; impersonator.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import amqp from 'amqplib';
import type { Channel, ChannelModel } from 'amqplib';
import type { TestBroker } from './helpers/broker.js';
import { startTestBroker } from './helpers/broker.js';
import { closeQuietly, getOrFail, nextError, rejectsWithCode } from './helpers/amqp-client.js';

const ACCESS_REFUSED = 403;
const OWN = { configure: '^alice\\.', write: '^alice\\.', read: '^alice\\.' };

let b: TestBroker;
let admin: ChannelModel;
let alice: ChannelModel;
const broker = () => b.warren.broker;

before(async () => {
  b = await startTestBroker();
  broker().addUser('alice', { password: 'pw', tags: ['management'] });
  broker().setPermissions('alice', '/', OWN);
  admin = await amqp.connect(b.url);
  const ch = await admin.createChannel();
  await ch.assertQueue('other.q', { durable: false });
  await ch.assertExchange('other.x', 'direct', { durable: false });
  await ch.assertExchange('alice.x', 'direct', { durable: false });
  ch.sendToQueue('other.q', Buffer.from('not for alice'));
  await ch.close();
  alice = await amqp.connect(`amqp://alice:pw@127.0.0.1:${b.port}`);
  alice.on('error', () => {});
});
after(async () => {
  await closeQuietly(alice);
  await closeQuietly(admin);
  await b.stop();
});

async function aliceChannel(): Promise<Channel> {
  const ch = await alice.createChannel();
  ch.on('error', () => {});
  return ch;
}

/** `op` on a fresh channel of alice's must close it with 403 and a text matching `text`. */
async function refused(op: (ch: Channel) => Promise<unknown>, text: RegExp): Promise<void> {
  const ch = await aliceChannel();
  const err = await rejectsWithCode(op(ch), ACCESS_REFUSED);
  assert.match(err.message, text);
}

/** A publish is refused asynchronously: the channel closes with 403. */
async function publishRefused(exchange: string, routingKey: string, text: RegExp): Promise<void> {
  const ch = await aliceChannel();
  const closed = nextError(ch);
  ch.publish(exchange, routingKey, Buffer.from('x'));
  const err = await closed;
  assert.equal(err.code, ACCESS_REFUSED);
  assert.match(err.message, text);
}

const refusal = (perm: string, kind: string, name: string) =>
  new RegExp(`ACCESS_REFUSED - ${perm} access to ${kind} '${name.replace(/[.]/g, '\\.')}' in vhost '/' refused for user 'alice'`);

describe('AMQP operations need the permissions RabbitMQ requires', () => {
  test('what alice may do on her own names works end to end', async () => {
    const ch = await aliceChannel();
    await ch.assertQueue('alice.q', { durable: false });
    await ch.assertExchange('alice.y', 'fanout', { durable: false });
    await ch.bindQueue('alice.q', 'alice.x', 'k');
    await ch.bindExchange('alice.y', 'alice.x', 'k');
    ch.publish('alice.x', 'k', Buffer.from('hello'));
    assert.equal((await getOrFail(ch, 'alice.q', { noAck: true })).content.toString(), 'hello');
    await ch.purgeQueue('alice.q');
    await ch.consume('alice.q', () => {});
    await ch.unbindQueue('alice.q', 'alice.x', 'k');
    await ch.unbindExchange('alice.y', 'alice.x', 'k');
    await ch.deleteExchange('alice.y');
    await ch.close();
  });

  test('queue.declare needs configure on the queue, server-named ones included', async () => {
    await refused((ch) => ch.assertQueue('other.new'), refusal('configure', 'queue', 'other.new'));
    await refused((ch) => ch.assertQueue('other.q', { durable: false }), refusal('configure', 'queue', 'other.q'));
    await refused((ch) => ch.assertQueue('', { exclusive: true }), /configure access to queue 'amq\.gen-[\w-]+' in vhost '\/'/);
  });

  test('passive declares need no permission (RabbitMQ checks none)', async () => {
    const ch = await aliceChannel();
    assert.equal((await ch.checkQueue('other.q')).messageCount, 1);
    await ch.checkExchange('other.x');
    await ch.close();
  });

  test('exchange.declare needs configure on the exchange', async () => {
    await refused((ch) => ch.assertExchange('other.new', 'topic'), refusal('configure', 'exchange', 'other.new'));
  });

  test('queue.delete and exchange.delete need configure, and leave the object in place', async () => {
    await refused((ch) => ch.deleteQueue('other.q'), refusal('configure', 'queue', 'other.q'));
    await refused((ch) => ch.deleteExchange('other.x'), refusal('configure', 'exchange', 'other.x'));
    assert.ok(broker().getVhost('/')!.queues.has('other.q'));
    assert.ok(broker().getVhost('/')!.exchanges.has('other.x'));
  });

  test('queue.bind/unbind need write on the queue and read on the exchange', async () => {
    await refused((ch) => ch.bindQueue('other.q', 'alice.x', 'k'), refusal('write', 'queue', 'other.q'));
    await refused((ch) => ch.bindQueue('alice.q', 'other.x', 'k'), refusal('read', 'exchange', 'other.x'));
    await refused((ch) => ch.unbindQueue('alice.q', 'other.x', 'k'), refusal('read', 'exchange', 'other.x'));
    await refused((ch) => ch.bindQueue('alice.q', '', 'alice.q'), refusal('read', 'exchange', 'amq.default'));
  });

  test('exchange.bind/unbind need write on the destination and read on the source', async () => {
    await refused((ch) => ch.bindExchange('other.x', 'alice.x', 'k'), refusal('write', 'exchange', 'other.x'));
    await refused((ch) => ch.bindExchange('alice.x', 'other.x', 'k'), refusal('read', 'exchange', 'other.x'));
    await refused((ch) => ch.unbindExchange('other.x', 'alice.x', 'k'), refusal('write', 'exchange', 'other.x'));
  });

  test('basic.publish needs write on the exchange; the default exchange is checked as amq.default', async () => {
    await publishRefused('other.x', 'k', refusal('write', 'exchange', 'other.x'));
    await publishRefused('', 'alice.q', refusal('write', 'exchange', 'amq.default'));
    // Checked before existence, as in RabbitMQ: no way to probe for names one may not use.
    await publishRefused('other.missing', 'k', refusal('write', 'exchange', 'other.missing'));
  });

  test('basic.consume, basic.get and queue.purge need read on the queue (403 before 404)', async () => {
    await refused((ch) => ch.consume('other.q', () => {}), refusal('read', 'queue', 'other.q'));
    await refused((ch) => ch.get('other.q'), refusal('read', 'queue', 'other.q'));
    await refused((ch) => ch.purgeQueue('other.q'), refusal('read', 'queue', 'other.q'));
    await refused((ch) => ch.get('other.missing'), refusal('read', 'queue', 'other.missing'));
    assert.equal(broker().getVhost('/')!.queues.get('other.q')!.messageCount, 1, 'nothing was taken');
  });

  test('a new queue with a DLX needs write on the DLX; a new exchange with an AE needs write on the AE', async () => {
    await refused((ch) => ch.assertQueue('alice.dlq', { durable: false, deadLetterExchange: 'other.x' }),
      refusal('write', 'exchange', 'other.x'));
    assert.ok(!broker().getVhost('/')!.queues.has('alice.dlq'), 'not created');
    await refused((ch) => ch.assertExchange('alice.ae', 'direct', { durable: false, alternateExchange: 'other.x' }),
      refusal('write', 'exchange', 'other.x'));
    assert.ok(!broker().getVhost('/')!.exchanges.has('alice.ae'), 'not created');
    const ch = await aliceChannel();
    await ch.assertQueue('alice.dlq', { durable: false, deadLetterExchange: 'alice.x' });
    await ch.assertExchange('alice.ae', 'direct', { durable: false, alternateExchange: 'alice.x' });
    await ch.close();
  });

  test('changed permissions apply to the next operation of an open channel (cached decisions dropped)', async () => {
    const ch = await aliceChannel();
    const closed = nextError(ch);
    ch.publish('alice.x', 'k', Buffer.from('1')); // allowed, and now cached
    await ch.checkQueue('alice.q'); // a round trip: the publish was handled
    broker().setPermissions('alice', '/', { ...OWN, write: '^alice\\.q$' });
    ch.publish('alice.x', 'k', Buffer.from('2'));
    const err = await closed;
    assert.equal(err.code, ACCESS_REFUSED);
    assert.match(err.message, refusal('write', 'exchange', 'alice.x'));
    broker().setPermissions('alice', '/', OWN);
  });

  test('topic permissions restrict routing keys on topic exchanges (publish: write, bind: read)', async () => {
    broker().setPermissions('alice', '/', { ...OWN, write: '^(alice\\.|amq\\.topic$)', read: '^(alice\\.|amq\\.topic$)' });
    broker().setTopicPermissions('alice', '/', { exchange: 'amq.topic', write: '^{username}\\.', read: '^{username}\\.' });
    try {
      const ch = await aliceChannel();
      await ch.bindQueue('alice.q', 'amq.topic', 'alice.#');
      ch.publish('amq.topic', 'alice.news', Buffer.from('mine'));
      assert.equal((await getOrFail(ch, 'alice.q', { noAck: true })).content.toString(), 'mine');
      await ch.close();
      await publishRefused('amq.topic', 'bob.news',
        /write access to topic 'bob\.news' in exchange 'amq\.topic' in vhost '\/' refused for user 'alice'/);
      await refused((c) => c.bindQueue('alice.q', 'amq.topic', '#'), /read access to topic '#' in exchange 'amq\.topic'/);
    } finally {
      broker().clearTopicPermissions('alice', '/');
      broker().setPermissions('alice', '/', OWN);
    }
  });

  test('user_id must be the user, unless the user is tagged impersonator', async () => {
    const ch = await aliceChannel();
    const closed = nextError(ch);
    ch.publish('alice.x', 'k', Buffer.from('x'), { userId: 'bob' });
    assert.equal((await closed).code, 406);
    broker().putUser('imp', { password: 'pw', tags: ['impersonator'] });
    broker().setPermissions('imp', '/', { configure: '', write: '.*', read: '.*' });
    const conn = await amqp.connect(`amqp://imp:pw@127.0.0.1:${b.port}`);
    try {
      const c = await conn.createChannel();
      c.publish('', 'alice.q', Buffer.from('as bob'), { userId: 'bob' });
      assert.equal((await getOrFail(c, 'alice.q', { noAck: true })).properties.userId, 'bob');
    } finally {
      await closeQuietly(conn);
    }
  });
});
