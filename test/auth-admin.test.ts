/**
 * Users, vhosts and permissions at the connection level and across restarts, through amqplib:
 * login refused (403) for a bad password or a user without one; connection.open refused (530)
 * without permissions in the vhost; guest only from loopback; deleting a vhost closes its
 * connections (320) and deletes its queues with their messages; deleting a user closes its
 * connections; users, vhosts and permissions survive a restart; an old data directory keeps guest.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import amqp from 'amqplib';
import type { ChannelModel } from 'amqplib';
import type { TestBroker } from './helpers/broker.js';
import { startTestBroker } from './helpers/broker.js';
import { closeQuietly, getOrFail } from './helpers/amqp-client.js';
import { RawClient } from './helpers/raw-client.js';
import * as M from '../src/protocol/amqp/codec/methods.generated.js';

const ALL = { configure: '.*', write: '.*', read: '.*' };

let b: TestBroker;
const broker = () => b.warren.broker;
const url = (user: string, pass: string, vhost = '/') => `amqp://${user}:${pass}@127.0.0.1:${b.port}/${encodeURIComponent(vhost)}`;

/** Resolves with the error a server-closed connection reports. */
function closedBy(conn: ChannelModel): Promise<Error & { code?: number }> {
  return new Promise((resolve) => conn.on('close', resolve));
}

/** Logs in with PLAIN and opens `vhost`; returns the connection.close the broker answers with. */
async function openRefusal(user: string, pass: string, vhost: string): Promise<M.ConnectionClose> {
  const c = await RawClient.connect(b.port);
  try {
    c.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
    await c.nextMethod(M.CONNECTION_START);
    c.send(0, { id: M.CONNECTION_START_OK, clientProperties: {}, mechanism: 'PLAIN', response: `\0${user}\0${pass}`, locale: 'en_US' });
    await c.nextMethod(M.CONNECTION_TUNE);
    c.send(0, { id: M.CONNECTION_TUNE_OK, channelMax: 10, frameMax: 131072, heartbeat: 0 });
    c.send(0, { id: M.CONNECTION_OPEN, virtualHost: vhost });
    return await c.nextMethod(M.CONNECTION_CLOSE) as M.ConnectionClose;
  } finally {
    c.destroy();
  }
}

before(async () => {
  b = await startTestBroker();
});
after(async () => {
  await b.stop();
});

describe('logging in and opening a vhost', () => {
  test('a fresh broker has vhost / and guest (administrator) with full permissions on it, as RabbitMQ', () => {
    assert.deepEqual(broker().listVhosts().map((v) => [v.name, v.description]), [['/', 'Default virtual host']]);
    assert.deepEqual(broker().listUsers().map((u) => [u.name, u.tags]), [['guest', ['administrator']]]);
    assert.deepEqual(broker().listPermissions(), [{ user: 'guest', vhost: '/', ...ALL }]);
  });

  test('a wrong password, an unknown user and a user without a password are refused with 403', async () => {
    broker().putUser('carol', { password: 'right' });
    broker().putUser('nopass', {});
    broker().setPermissions('carol', '/', ALL);
    broker().setPermissions('nopass', '/', ALL);
    for (const [user, pass] of [['carol', 'wrong'], ['nobody', 'right'], ['nopass', 'x']] as const) {
      await assert.rejects(amqp.connect(url(user, pass)), /403|ACCESS_REFUSED/, user);
    }
    const ok = await amqp.connect(url('carol', 'right'));
    await ok.close();
  });

  test('a user without permissions in a vhost is refused at connection.open with 530', async () => {
    broker().addVhost('restricted', { description: 'no one here' });
    broker().putUser('dave', { password: 'pw' });
    broker().setPermissions('dave', '/', ALL);
    await assert.rejects(amqp.connect(url('dave', 'pw', 'restricted')), /ConnectionClose/);
    const close = await openRefusal('dave', 'pw', 'restricted');
    assert.equal(close.replyCode, 530);
    assert.equal(close.replyText, "NOT_ALLOWED - access to vhost 'restricted' refused for user 'dave'");
    assert.deepEqual([close.classId, close.methodId], [10, 40]);
    // Any entry gives access to the vhost, even one that allows nothing (RabbitMQ's rule).
    broker().setPermissions('dave', 'restricted', { configure: '', write: '', read: '' });
    const conn = await amqp.connect(url('dave', 'pw', 'restricted'));
    await conn.close();
    broker().clearPermissions('dave', 'restricted');
    assert.equal((await openRefusal('dave', 'pw', 'restricted')).replyCode, 530);
  });

  test('guest can only connect via localhost; other users can connect from anywhere', async (t) => {
    const address = Object.values(networkInterfaces()).flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    if (!address) return t.skip('no non-loopback IPv4 address on this machine');
    const wide = await startTestBroker({ host: '0.0.0.0' });
    try {
      const remote = (user: string, pass: string) => `amqp://${user}:${pass}@${address}:${wide.port}`;
      await assert.rejects(amqp.connect(remote('guest', 'guest')), /403.*user 'guest' can only connect via localhost/);
      wide.warren.broker.putUser('erin', { password: 'pw' });
      wide.warren.broker.setPermissions('erin', '/', ALL);
      const conn = await amqp.connect(remote('erin', 'pw'));
      await conn.close();
      const local = await amqp.connect(`amqp://guest:guest@127.0.0.1:${wide.port}`);
      await local.close();
    } finally {
      await wide.stop();
    }
  });

  test('deleting a user closes its connections with 320 and removes its permissions', async () => {
    broker().putUser('frank', { password: 'pw' });
    broker().setPermissions('frank', '/', ALL);
    const conn = await amqp.connect(url('frank', 'pw'));
    const closed = closedBy(conn);
    const guest = await amqp.connect(b.url);
    broker().deleteUser('frank');
    const err = await closed;
    assert.equal(err.code, 320);
    assert.match(err.message, /CONNECTION_FORCED - broker forced connection closure with reason 'user 'frank' is deleted'/);
    assert.deepEqual(broker().listPermissions({ user: 'frank' }), []);
    await (await guest.createChannel()).close(); // other users' connections are untouched
    await guest.close();
  });
});

describe('vhost lifecycle', () => {
  test('a new vhost has the amq.* exchanges and works for a user with permissions', async () => {
    broker().addVhost('fresh');
    assert.deepEqual([...broker().getVhost('fresh')!.exchanges.keys()].sort(),
      ['', 'amq.direct', 'amq.fanout', 'amq.headers', 'amq.match', 'amq.rabbitmq.trace', 'amq.topic']);
    assert.throws(() => broker().addVhost('fresh'), /already exists/);
    broker().setPermissions('guest', 'fresh', ALL);
    const conn = await amqp.connect(url('guest', 'guest', 'fresh'));
    const ch = await conn.createChannel();
    await ch.assertQueue('q');
    ch.publish('amq.direct', 'q', Buffer.from('x'));
    await ch.bindQueue('q', 'amq.direct', 'q');
    ch.publish('amq.direct', 'q', Buffer.from('y'));
    assert.equal((await getOrFail(ch, 'q', { noAck: true })).content.toString(), 'y');
    await conn.close();
  });

  test('deleting a vhost closes its connections (320), deletes its queues with their messages, keeps others', async () => {
    broker().addVhost('doomed');
    broker().setPermissions('guest', 'doomed', ALL);
    const inside = await amqp.connect(url('guest', 'guest', 'doomed'));
    const ch = await inside.createConfirmChannel();
    await ch.assertQueue('keep-me', { durable: true });
    ch.sendToQueue('keep-me', Buffer.from('persistent'), { persistent: true });
    await ch.waitForConfirms();
    const dir = join(b.dataDir, 'queues', createHash('sha256').update('doomed\0keep-me').digest('hex').slice(0, 32));
    assert.ok(existsSync(dir), 'the durable queue has its message directory');
    const outside = await amqp.connect(b.url);
    const closed = closedBy(inside);

    broker().deleteVhost('doomed');
    const err = await closed;
    assert.equal(err.code, 320);
    assert.match(err.message, /vhost 'doomed' is deleted/);
    assert.equal(broker().getVhost('doomed'), undefined);
    assert.ok(!existsSync(dir), 'the queue and its messages are gone from disk');
    assert.deepEqual(broker().listPermissions({ vhost: 'doomed' }), []);
    await (await outside.createChannel()).close();
    await outside.close();
    assert.match((await openRefusal('guest', 'guest', 'doomed')).replyText, /NOT_ALLOWED - vhost 'doomed' not found/);
    assert.throws(() => broker().deleteVhost('doomed'), /no vhost 'doomed'/);

    // A vhost of the same name starts empty, and the deletion holds across a restart.
    b = await b.restart();
    assert.equal(broker().getVhost('doomed'), undefined);
    broker().addVhost('doomed');
    assert.equal(broker().getVhost('doomed')!.queues.size, 0);
    broker().deleteVhost('doomed');
  });
});

describe('durability', () => {
  test('users, vhosts, permissions and topic permissions survive a restart, in RabbitMQ definitions shape', async () => {
    broker().putUser('gina', { password: 's3cret', tags: 'monitoring,custom-tag' });
    broker().putUser('hal', { passwordHash: 'AQIDBN4qdpi6Jz9WZ8PBw2TFod0=', hashingAlgorithm: 'rabbit_password_hashing_md5' });
    broker().putVhost('team', { description: 'the team', tags: ['prod'], defaultQueueType: 'classic' });
    broker().setPermissions('gina', 'team', { configure: '^gina\\.', write: '.*', read: '' });
    broker().setPermissions('hal', 'team', ALL);
    broker().setTopicPermissions('gina', 'team', { exchange: 'amq.topic', write: '^a\\.', read: '.*' });
    const stored = JSON.parse(readFileSync(join(b.dataDir, 'definitions.json'), 'utf8')) as Record<string, unknown[]>;
    const storedGina = stored.users!.find((u) => (u as { name: string }).name === 'gina');
    assert.deepEqual(Object.keys(storedGina as object).sort(), ['hashing_algorithm', 'limits', 'name', 'password_hash', 'tags']);
    assert.ok(stored.vhosts!.some((v) => JSON.stringify(v) === JSON.stringify({ name: 'team', description: 'the team', tags: ['prod'],
      metadata: { description: 'the team', tags: ['prod'], default_queue_type: 'classic' } })));

    const before = { users: broker().listUsers(), perms: broker().listPermissions(), topics: broker().listTopicPermissions() };
    b = await b.restart();
    assert.deepEqual(broker().listUsers(), before.users);
    assert.deepEqual(broker().listPermissions(), before.perms);
    assert.deepEqual(broker().listTopicPermissions(), before.topics);
    assert.equal(broker().getVhost('team')!.description, 'the team');
    const conn = await amqp.connect(url('gina', 's3cret', 'team'));
    const ch = await conn.createChannel();
    await ch.assertQueue('gina.q');
    await conn.close();
    // A hash imported from elsewhere (RabbitMQ's md5 layout); the object form passes the password as is.
    const md5 = await amqp.connect({ hostname: '127.0.0.1', port: b.port, username: 'hal', password: 'pässword', vhost: 'team' });
    await md5.close();
  });

  test('a deleted guest stays deleted across a restart', async () => {
    broker().deleteUser('guest');
    b = await b.restart();
    assert.equal(broker().getUser('guest'), undefined);
    await assert.rejects(amqp.connect(b.url), /403/);
    broker().putUser('guest', { password: 'guest', tags: ['administrator'] });
    broker().setPermissions('guest', '/', ALL);
  });

  test('a data directory from before users were stored starts with guest, with access to every vhost it had', async () => {
    const file = join(b.dataDir, 'definitions.json');
    await b.warren.stop();
    const defs = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    delete defs.users;
    delete defs.permissions;
    delete defs.topic_permissions;
    defs.vhosts = [{ name: '/' }, { name: 'team' }];
    writeFileSync(file, JSON.stringify(defs));
    b = await startTestBroker({}, b.dataDir);
    assert.deepEqual(broker().listUsers().map((u) => u.name), ['guest']);
    assert.deepEqual(broker().listPermissions().map((p) => p.vhost), ['/', 'team']);
    const conn = await amqp.connect(url('guest', 'guest', 'team'));
    await closeQuietly(conn);
  });
});
