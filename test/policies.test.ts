/**
 * Policies through the operator API (Broker.setPolicy / deletePolicy / listPolicies) acting on
 * queues and exchanges that a real client (amqplib) declared: existing objects follow policy
 * changes, new ones get their policy at declare, x-arguments take part by RabbitMQ's rules, and
 * policies are durable; and what the settings then do to a queue that already holds messages
 * (length limit, TTL, dead-lettering) and to an exchange (alternate exchange).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Broker, BrokerError } from '../src/index.js';
import type { Queue } from '../src/core/queue/queue.js';
import { startTestBroker, waitFor } from './helpers/broker.js';
import type { TestBroker } from './helpers/broker.js';
import { clientHelpers, qname } from './helpers/amqp-client.js';

let tb: TestBroker;
before(async () => {
  tb = await startTestBroker();
});
after(async () => {
  await tb.stop();
});

const { channel, withConn } = clientHelpers(() => tb.url);
const broker = (): Broker => tb.warren.broker;
const queue = (name: string): Queue => {
  const q = broker().getVhost('/')!.queues.get(name);
  assert.ok(q, `queue ${name} exists`);
  return q;
};
/** A pattern matching exactly `name`. */
const exactly = (name: string): string => `^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;

function rejects(fn: () => unknown, code: number, ...parts: string[]): void {
  assert.throws(fn, (err) => {
    const e = err as BrokerError;
    assert.equal(e.replyCode, code, e.message);
    for (const part of parts) assert.ok(e.message.includes(part), `${JSON.stringify(e.message)} should mention ${JSON.stringify(part)}`);
    return true;
  });
}

describe('policies on live queues and exchanges', () => {
  test('a policy set after a queue was declared changes its settings; changing and deleting it reverts', async () => {
    const name = qname('pol-live');
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await ch.assertQueue(name, { durable: false });
      assert.equal(queue(name).settings.maxLength, undefined);

      const p = broker().setPolicy('/', { name: name, pattern: exactly(name), definition: { 'max-length': 5, 'message-ttl': 60000 } });
      assert.equal(queue(name).policy, p);
      assert.equal(queue(name).settings.maxLength, 5);
      assert.equal(queue(name).settings.messageTtl, 60000);

      broker().setPolicy('/', { name: name, pattern: exactly(name), definition: { 'max-length': 7 } });
      assert.equal(queue(name).settings.maxLength, 7);
      assert.equal(queue(name).settings.messageTtl, undefined, 'the replaced definition no longer applies');

      // The declared arguments are untouched: an equivalent re-declare still succeeds.
      await ch.assertQueue(name, { durable: false });

      broker().deletePolicy('/', name);
      assert.equal(queue(name).policy, undefined);
      assert.equal(queue(name).settings.maxLength, undefined);
      await ch.deleteQueue(name);
    });
  });

  test('precedence with x-arguments: the smaller limit, the argument dead-letter exchange and overflow', async () => {
    const name = qname('pol-args');
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await ch.assertQueue(name, { durable: false, arguments: {
        'x-max-length': 100, 'x-message-ttl': 1000, 'x-dead-letter-exchange': 'mine', 'x-overflow': 'reject-publish' } });
      broker().setPolicy('/', { name, pattern: exactly(name), definition: {
        'max-length': 10, 'message-ttl': 5000, 'dead-letter-exchange': 'theirs', 'dead-letter-routing-key': 'from-policy', overflow: 'drop-head' } });
      const s = queue(name).settings;
      assert.equal(s.maxLength, 10, 'policy limit smaller');
      assert.equal(s.messageTtl, 1000, 'argument TTL smaller');
      assert.equal(s.deadLetterExchange, 'mine', 'the x-argument DLX wins');
      assert.equal(s.deadLetterRoutingKey, 'from-policy', 'the policy fills in what the arguments lack');
      assert.equal(s.overflow, 'reject-publish', 'the x-argument overflow wins');
      broker().deletePolicy('/', name);
      assert.equal(queue(name).settings.maxLength, 100, 'back to the arguments alone');
      await ch.deleteQueue(name);
    });
  });

  test('queues and exchanges declared after a policy get it at declare (server-named queues too)', async () => {
    const prefix = qname('pol-new');
    broker().setPolicy('/', { name: prefix, pattern: `^${prefix}\\.`, priority: 5, definition: { expires: 120000, 'alternate-exchange': 'ae' } });
    broker().setPolicy('/', { name: `${prefix}-gen`, pattern: '^amq\\.gen-', applyTo: 'queues', definition: { 'max-length-bytes': 4096 } });
    try {
      await withConn(async (conn) => {
        const ch = await channel(conn);
        await ch.assertQueue(`${prefix}.q`, { durable: false });
        assert.equal(queue(`${prefix}.q`).settings.expires, 120000);
        await ch.assertExchange(`${prefix}.x`, 'topic', { durable: false });
        const x = broker().getVhost('/')!.exchanges.get(`${prefix}.x`)!;
        assert.equal(x.policy?.name, prefix);
        assert.equal(x.alternateExchange, 'ae');
        const { queue: generated } = await ch.assertQueue('', { exclusive: true });
        assert.equal(queue(generated).settings.maxLengthBytes, 4096);
        await ch.deleteQueue(`${prefix}.q`);
        await ch.deleteExchange(`${prefix}.x`);
      });
    } finally {
      broker().deletePolicy('/', prefix);
      broker().deletePolicy('/', `${prefix}-gen`);
    }
  });

  test('the highest priority matching policy applies; apply-to exchanges leaves queues alone', async () => {
    const name = qname('pol-prio');
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await ch.assertQueue(name, { durable: false });
      broker().setPolicy('/', { name: `${name}-low`, pattern: exactly(name), priority: 1, definition: { 'max-length': 1 } });
      broker().setPolicy('/', { name: `${name}-high`, pattern: exactly(name), priority: 2, definition: { 'max-length': 2 } });
      broker().setPolicy('/', { name: `${name}-x`, pattern: exactly(name), priority: 3, applyTo: 'exchanges', definition: { 'alternate-exchange': 'ae' } });
      assert.equal(queue(name).policy?.name, `${name}-high`);
      assert.equal(queue(name).settings.maxLength, 2);
      broker().deletePolicy('/', `${name}-high`);
      assert.equal(queue(name).settings.maxLength, 1);
      for (const n of [`${name}-low`, `${name}-x`]) broker().deletePolicy('/', n);
      await ch.deleteQueue(name);
    });
  });

  test('invalid policies are refused with a message naming the problem, and change nothing', () => {
    const before = broker().listPolicies('/').length;
    rejects(() => broker().setPolicy('/', { name: 'bad', pattern: '.*', definition: { 'message-ttl': 'forever' } }),
      406, "invalid policy 'bad' in vhost '/'", "'message-ttl'", '"forever"');
    rejects(() => broker().setPolicy('/', { name: 'bad', pattern: '.*', definition: { 'max-priority': 10 } }), 406, "'max-priority' cannot be set by a policy");
    rejects(() => broker().setPolicy('/', { name: 'bad', pattern: '.*', definition: { 'nonsense': 1 } }), 406, "'nonsense' is not a recognised policy setting");
    rejects(() => broker().setPolicy('/', { name: 'bad', pattern: '[', definition: { 'max-length': 1 } }), 406, 'not a valid regular expression');
    rejects(() => broker().setPolicy('/', { name: 'bad', pattern: '.*', applyTo: 'topics', definition: { 'max-length': 1 } }), 406, 'apply-to "topics" unrecognised');
    rejects(() => broker().setPolicy('no-such-vhost', { name: 'p', pattern: '.*', definition: { 'max-length': 1 } }), 404, "no vhost 'no-such-vhost'");
    rejects(() => broker().deletePolicy('/', 'never-set'), 404, "no policy 'never-set' in vhost '/'");
    rejects(() => broker().listPolicies('no-such-vhost'), 404);
    assert.equal(broker().listPolicies('/').length, before);
  });
});

describe('policies are durable', () => {
  test('policies survive a restart (RabbitMQ definitions shape) and are applied to the restored queues', async () => {
    const name = qname('pol-durable');
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await ch.assertQueue(name, { durable: true, arguments: { 'x-max-length': 50 } });
    });
    broker().setPolicy('/', { name, pattern: exactly(name), applyTo: 'queues', priority: 7, definition: { 'max-length': 20, 'message-ttl': 30000 } });

    const stored = JSON.parse(readFileSync(join(tb.dataDir, 'definitions.json'), 'utf8')) as { policies: unknown[] };
    assert.deepEqual(stored.policies, [{ vhost: '/', name, pattern: exactly(name), 'apply-to': 'queues', priority: 7,
      definition: { 'max-length': 20, 'message-ttl': 30000 } }]);

    tb = await tb.restart();
    assert.deepEqual(broker().listPolicies().map((p) => p.toJSON()), stored.policies);
    assert.equal(queue(name).policy?.name, name, 'the restored queue has its policy');
    assert.equal(queue(name).settings.maxLength, 20);
    assert.equal(queue(name).settings.messageTtl, 30000);

    // A deleted policy stays deleted across a restart.
    broker().deletePolicy('/', name);
    tb = await tb.restart();
    assert.deepEqual(broker().listPolicies(), []);
    assert.equal(queue(name).settings.maxLength, 50);
    await withConn(async (conn) => {
      await (await channel(conn)).deleteQueue(name);
    });
  });

  test('a definitions file from before policies (no "policies" key) still loads', async () => {
    const name = qname('pol-old-file');
    await withConn(async (conn) => {
      await (await channel(conn)).assertQueue(name, { durable: true });
    });
    const file = join(tb.dataDir, 'definitions.json');
    await tb.warren.stop();
    const defs = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    delete defs.policies;
    writeFileSync(file, JSON.stringify(defs));
    tb = await startTestBroker({}, tb.dataDir);
    assert.deepEqual(broker().listPolicies(), []);
    assert.equal(queue(name).policy, undefined);
    await withConn(async (conn) => {
      await (await channel(conn)).deleteQueue(name);
    });
  });

  test('a stored policy that no longer validates (hand-edited file) is skipped; the broker starts', async () => {
    const name = qname('pol-bad-file');
    await withConn(async (conn) => {
      await (await channel(conn)).assertQueue(name, { durable: true });
    });
    broker().setPolicy('/', { name: 'good', pattern: exactly(name), definition: { 'max-length': 3 } });
    const file = join(tb.dataDir, 'definitions.json');
    await tb.warren.stop();
    const defs = JSON.parse(readFileSync(file, 'utf8')) as { policies: unknown[] };
    defs.policies.push({ vhost: '/', name: 'bad', pattern: '.*', 'apply-to': 'all', priority: 99, definition: { 'max-length': 'lots' } });
    defs.policies.push({ vhost: 'gone', name: 'orphan', pattern: '.*', 'apply-to': 'all', priority: 0, definition: { 'max-length': 1 } });
    writeFileSync(file, JSON.stringify(defs));
    tb = await startTestBroker({}, tb.dataDir);
    assert.deepEqual(broker().listPolicies().map((p) => p.name), ['good']);
    assert.equal(queue(name).settings.maxLength, 3);
    broker().deletePolicy('/', 'good');
    await withConn(async (conn) => {
      await (await channel(conn)).deleteQueue(name);
    });
  });
});

describe('what a policy does to a queue that already exists', () => {
  test('max-length set by policy drops the oldest messages at once, and new publishes keep the limit', async () => {
    const name = qname('pol-maxlen');
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await ch.assertQueue(name, { durable: false });
      for (let i = 1; i <= 5; i++) ch.sendToQueue(name, Buffer.from(String(i)));
      await waitFor(() => queue(name).messageCount === 5);
      broker().setPolicy('/', { name, pattern: exactly(name), definition: { 'max-length': 2 } });
      assert.equal((await ch.checkQueue(name)).messageCount, 2);
      ch.sendToQueue(name, Buffer.from('6'));
      await waitFor(() => queue(name).store.readyCount === 2 && queue(name).store.peek()?.message.body.toString() === '5');
      const bodies: string[] = [];
      for (let m = await ch.get(name, { noAck: true }); m; m = await ch.get(name, { noAck: true })) bodies.push(m.content.toString());
      assert.deepEqual(bodies, ['5', '6']);
      broker().deletePolicy('/', name);
      await ch.deleteQueue(name);
    });
  });

  test('message-ttl and dead-letter-exchange set by policy expire the existing backlog into the DLX queue', async () => {
    const name = qname('pol-ttl');
    const dlq = qname('pol-ttl-dlq');
    const dlx = qname('pol-dlx');
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await ch.assertExchange(dlx, 'fanout', { durable: false });
      await ch.assertQueue(dlq, { durable: false });
      await ch.bindQueue(dlq, dlx, '');
      await ch.assertQueue(name, { durable: false });
      ch.sendToQueue(name, Buffer.from('old'));
      await waitFor(() => queue(name).messageCount === 1);
      await new Promise((r) => setTimeout(r, 60));
      broker().setPolicy('/', { name, pattern: exactly(name), definition: { 'message-ttl': 50, 'dead-letter-exchange': dlx } });
      await waitFor(() => queue(dlq).messageCount === 1, 2000, 'the expired message in the DLX queue');
      assert.equal(queue(name).messageCount, 0);
      const m = await ch.get(dlq, { noAck: true });
      assert.ok(m);
      assert.equal(m.content.toString(), 'old');
      const death = m.properties.headers?.['x-death']?.[0];
      assert.ok(death);
      assert.equal(death.reason, 'expired');
      assert.equal(death.queue, name);
      broker().deletePolicy('/', name);
      await ch.deleteQueue(name);
      await ch.deleteQueue(dlq);
      await ch.deleteExchange(dlx);
    });
  });

  test('alternate-exchange set by policy catches what an existing exchange cannot route', async () => {
    const ex = qname('pol-ex');
    const ae = qname('pol-ae');
    const caught = qname('pol-caught');
    await withConn(async (conn) => {
      const ch = await channel(conn);
      await ch.assertExchange(ex, 'direct', { durable: false });
      await ch.assertExchange(ae, 'fanout', { durable: false });
      await ch.assertQueue(caught, { durable: false });
      await ch.bindQueue(caught, ae, '');
      broker().setPolicy('/', { name: ex, pattern: exactly(ex), applyTo: 'exchanges', definition: { 'alternate-exchange': ae } });
      ch.publish(ex, 'nowhere', Buffer.from('x'));
      await waitFor(() => queue(caught).messageCount === 1, 2000, 'the message in the alternate exchange queue');
      broker().deletePolicy('/', ex);
      ch.publish(ex, 'nowhere', Buffer.from('y'));
      await ch.checkQueue(caught); // a round trip: the publish was handled
      assert.equal(queue(caught).messageCount, 1, 'without the policy the message is dropped');
      await ch.deleteQueue(caught);
      await ch.deleteExchange(ex);
      await ch.deleteExchange(ae);
    });
  });
});
