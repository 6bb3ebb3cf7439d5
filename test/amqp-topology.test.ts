/**
 * amqplib integration tests for the exchange.* and queue.* methods: declare/delete/bind/unbind,
 * purge, their success and error paths (reply codes as RabbitMQ sends them), routing through
 * every exchange type, exchange-to-exchange bindings, exclusive/auto-delete lifecycles,
 * durability across a restart, and the scope of soft (channel) versus hard (connection) errors.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel, Options } from 'amqplib';
import type { TestBroker } from './helpers/broker.js';
import { startTestBroker, waitFor } from './helpers/broker.js';

// Reply codes (AMQP 0-9-1 §1.9 / RabbitMQ).
const ACCESS_REFUSED = 403;
const NOT_FOUND = 404;
const RESOURCE_LOCKED = 405;
const PRECONDITION_FAILED = 406;
const COMMAND_INVALID = 503;

const TIMEOUT = 3000;

let b: TestBroker;
let nameSeq = 0;

/** A fresh name per test so no test sees another's topology. */
function uniq(prefix: string): string {
  return `${prefix}.${process.pid}.${++nameSeq}`;
}

function codeOf(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}

/** Races `p` against a timer that is always cleared, so no handle outlives the test. */
async function within<T>(p: Promise<T>, what: string, ms = TIMEOUT): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms}ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A connection whose 'error' events never go unhandled (tests listen separately when they care). */
async function connect(url = b.url): Promise<ChannelModel> {
  const conn = await amqp.connect(url);
  conn.on('error', () => {});
  return conn;
}

/** Runs `fn` with a connection that is always closed afterwards. */
async function withConn<T>(fn: (conn: ChannelModel) => Promise<T>, url?: string): Promise<T> {
  const conn = await connect(url);
  try {
    return await fn(conn);
  } finally {
    await conn.close().catch(() => {});
  }
}

/** Runs `fn` with a confirm channel on a connection that is always closed afterwards. */
async function withChannel<T>(fn: (ch: ConfirmChannel, conn: ChannelModel) => Promise<T>, url?: string): Promise<T> {
  return withConn(async (conn) => {
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => {});
    return fn(ch, conn);
  }, url);
}

/**
 * Opens a fresh channel on `conn`, runs the operation and asserts the broker closed that channel
 * with `code`: the pending operation (if `fn` returns a promise) rejects with it, and the channel
 * emits 'error' with it and then 'close'. The connection must stay open.
 */
async function expectChannelError(conn: ChannelModel, fn: (ch: Channel) => unknown, code: number): Promise<Error> {
  const ch = await conn.createChannel();
  const errored = new Promise<Error>((resolve) => ch.once('error', resolve));
  const closed = new Promise<void>((resolve) => ch.once('close', () => resolve()));
  const result = fn(ch);
  if (result instanceof Promise) {
    const outcome = await within(result.then((v) => ({ ok: true as const, v }), (e: unknown) => ({ ok: false as const, e })), 'operation reply');
    assert.equal(outcome.ok, false, `expected the operation to fail with ${code}, but it succeeded: ${JSON.stringify(outcome.ok ? outcome.v : null)}`);
    if (!outcome.ok) assert.equal(codeOf(outcome.e), code, `operation rejected with ${String(outcome.e)}`);
  }
  const err = await within(errored, `channel error ${code}`);
  assert.equal(codeOf(err), code, `channel error was ${String(err)}`);
  await within(closed, 'channel close');
  return err;
}

/**
 * Opens a fresh connection and channel, runs the operation and asserts the broker closed the
 * whole connection with `code` (a hard error).
 */
async function expectConnectionError(fn: (ch: Channel) => unknown, code: number): Promise<Error> {
  const conn = await amqp.connect(b.url);
  const errored = new Promise<Error>((resolve) => conn.once('error', resolve));
  const closed = new Promise<Error | undefined>((resolve) => conn.once('close', resolve));
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    const result = fn(ch);
    let opErr: unknown;
    if (result instanceof Promise) {
      const ok = await within(result.then(() => true, (e: unknown) => { opErr = e; return false; }), 'operation reply');
      assert.equal(ok, false, `expected the operation to fail with connection error ${code}, but it succeeded`);
    }
    const closeErr = await within(closed, `connection close ${code}`).catch((e: unknown) => {
      throw new Error(`${String(e)}; the operation failed with: ${String(opErr)} (code ${String(codeOf(opErr))})`);
    });
    assert.equal(codeOf(closeErr), code, `connection closed with ${String(closeErr)}`);
    const err = await within(errored, `connection error ${code}`);
    assert.equal(codeOf(err), code, `connection error was ${String(err)}`);
    return err;
  } finally {
    await conn.close().catch(() => {});
  }
}

/** Publishes and waits for the broker's confirms, so routing has happened. */
async function publish(ch: ConfirmChannel, exchange: string, routingKey: string, body: string, options?: Options.Publish): Promise<void> {
  ch.publish(exchange, routingKey, Buffer.from(body), options);
  await within(ch.waitForConfirms(), 'publisher confirms');
}

/** Every message ready in the queue, in order (basic.get with no-ack until empty). */
async function drain(ch: Channel, queue: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (m === false) return out;
    out.push(m.content.toString());
  }
}

async function sortedDrain(ch: Channel, queue: string): Promise<string[]> {
  return (await drain(ch, queue)).sort();
}

function vhost() {
  const v = b.warren.broker.vhosts.get('/');
  assert.ok(v, 'vhost / exists');
  return v;
}

before(async () => {
  b = await startTestBroker();
});

after(async () => {
  await b.stop();
});

// ---------------------------------------------------------------------------------------------

describe('exchange.declare', () => {
  for (const type of ['direct', 'fanout', 'topic', 'headers']) {
    test(`declares a ${type} exchange; passive declare and an identical redeclare succeed`, async () => {
      await withChannel(async (ch) => {
        const name = uniq(`ex.${type}`);
        const ok = await ch.assertExchange(name, type, { durable: false });
        assert.deepEqual(ok, { exchange: name });
        await ch.checkExchange(name);
        await ch.assertExchange(name, type, { durable: false });
        assert.equal(vhost().exchanges.get(name)?.type, type);
        await ch.deleteExchange(name);
      });
    });
  }

  test('passive declare of a missing exchange fails with 404', async () => {
    await withConn(async (conn) => {
      await expectChannelError(conn, (ch) => ch.checkExchange(uniq('missing')), NOT_FOUND);
    });
  });

  test('redeclare with a different type, durable, auto-delete or internal fails with 406', async () => {
    await withConn(async (conn) => {
      const name = uniq('ex.equiv');
      const ch = await conn.createChannel();
      await ch.assertExchange(name, 'direct', { durable: false, autoDelete: false, internal: false });
      await expectChannelError(conn, (c) => c.assertExchange(name, 'fanout', { durable: false }), PRECONDITION_FAILED);
      await expectChannelError(conn, (c) => c.assertExchange(name, 'direct', { durable: true }), PRECONDITION_FAILED);
      await expectChannelError(conn, (c) => c.assertExchange(name, 'direct', { durable: false, autoDelete: true }), PRECONDITION_FAILED);
      await expectChannelError(conn, (c) => c.assertExchange(name, 'direct', { durable: false, internal: true }), PRECONDITION_FAILED);
      // Nothing was changed by the failed redeclares.
      await ch.assertExchange(name, 'direct', { durable: false, autoDelete: false, internal: false });
      await ch.deleteExchange(name);
    });
  });

  test('redeclare with a different alternate-exchange argument fails with 406', async () => {
    await withConn(async (conn) => {
      const name = uniq('ex.ae');
      const ch = await conn.createChannel();
      await ch.assertExchange(name, 'direct', { durable: false, alternateExchange: 'ae1' });
      await expectChannelError(conn, (c) => c.assertExchange(name, 'direct', { durable: false, alternateExchange: 'ae2' }), PRECONDITION_FAILED);
      await ch.deleteExchange(name);
    });
  });

  test('an unknown exchange type is a connection error 503 COMMAND_INVALID', async () => {
    await expectConnectionError((ch) => ch.assertExchange(uniq('ex.bogus'), 'x-no-such-type'), COMMAND_INVALID);
    await withChannel(async (ch) => {
      // The broker is still serving other connections.
      await ch.checkExchange('amq.direct');
    });
  });

  test('redeclaring an existing exchange with an unknown type is also 503 (the type is checked first)', async () => {
    const name = uniq('ex.known');
    await withChannel(async (ch) => {
      await ch.assertExchange(name, 'direct', { durable: false });
    });
    await expectConnectionError((ch) => ch.assertExchange(name, 'x-no-such-type', { durable: false }), COMMAND_INVALID);
    await withChannel(async (ch) => ch.deleteExchange(name));
  });

  test("declaring a new exchange named 'amq.*' fails with 403", async () => {
    await withConn(async (conn) => {
      await expectChannelError(conn, (ch) => ch.assertExchange('amq.foo', 'direct'), ACCESS_REFUSED);
      await expectChannelError(conn, (ch) => ch.assertExchange(uniq('amq.foo'), 'topic', { durable: false }), ACCESS_REFUSED);
    });
    await withChannel(async (ch) => {
      await assert.rejects(ch.checkExchange('amq.foo'), (e) => codeOf(e) === NOT_FOUND);
    });
  });

  test("redeclaring 'amq.direct' with its own properties succeeds; with another type fails with 406", async () => {
    await withConn(async (conn) => {
      const ch = await conn.createChannel();
      await ch.assertExchange('amq.direct', 'direct', { durable: true });
      await ch.assertExchange('amq.topic', 'topic', { durable: true });
      await ch.assertExchange('amq.match', 'headers', { durable: true });
      await expectChannelError(conn, (c) => c.assertExchange('amq.direct', 'fanout', { durable: true }), PRECONDITION_FAILED);
    });
  });

  test('a non-passive declare of the default exchange fails with 403', async () => {
    await withConn(async (conn) => {
      await expectChannelError(conn, (ch) => ch.assertExchange('', 'direct', { durable: true }), ACCESS_REFUSED);
    });
  });

  test("the predeclared exchanges exist: '', amq.direct, amq.fanout, amq.topic, amq.headers, amq.match", async () => {
    await withChannel(async (ch) => {
      for (const name of ['', 'amq.direct', 'amq.fanout', 'amq.topic', 'amq.headers', 'amq.match']) {
        await ch.checkExchange(name);
      }
      const types = Object.fromEntries(['amq.direct', 'amq.fanout', 'amq.topic', 'amq.headers', 'amq.match']
        .map((n) => [n, vhost().exchanges.get(n)?.type]));
      assert.deepEqual(types, {
        'amq.direct': 'direct', 'amq.fanout': 'fanout', 'amq.topic': 'topic', 'amq.headers': 'headers', 'amq.match': 'headers',
      });
    });
  });
});

describe('exchange.delete', () => {
  test('deletes an exchange; a later passive declare fails with 404', async () => {
    await withConn(async (conn) => {
      const ch = await conn.createChannel();
      const name = uniq('ex.del');
      await ch.assertExchange(name, 'fanout', { durable: false });
      await ch.deleteExchange(name);
      await expectChannelError(conn, (c) => c.checkExchange(name), NOT_FOUND);
    });
  });

  test('deleting an exchange removes its bindings: a queue bound to it no longer gets messages', async () => {
    await withChannel(async (ch) => {
      const ex = uniq('ex.delb');
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await ch.assertExchange(ex, 'fanout', { durable: false });
      await ch.bindQueue(queue, ex, '');
      await ch.deleteExchange(ex);
      await ch.assertExchange(ex, 'fanout', { durable: false });
      await publish(ch, ex, '', 'after');
      assert.deepEqual(await drain(ch, queue), []);
      await ch.deleteExchange(ex);
    });
  });

  test('delete with ifUnused while it has a binding fails with 406; after unbinding it succeeds', async () => {
    await withConn(async (conn) => {
      const ch = await conn.createChannel();
      const ex = uniq('ex.inuse');
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await ch.assertExchange(ex, 'direct', { durable: false });
      await ch.bindQueue(queue, ex, 'k');
      await expectChannelError(conn, (c) => c.deleteExchange(ex, { ifUnused: true }), PRECONDITION_FAILED);
      await ch.checkExchange(ex); // still there
      await ch.unbindQueue(queue, ex, 'k');
      await ch.deleteExchange(ex, { ifUnused: true });
      await expectChannelError(conn, (c) => c.checkExchange(ex), NOT_FOUND);
    });
  });

  test('delete with ifUnused when the exchange is only the destination of an exchange binding succeeds', async () => {
    // RabbitMQ: if-unused looks only at bindings whose source is the exchange (has_for_source).
    await withConn(async (conn) => {
      const ch = await conn.createChannel();
      const src = uniq('ex.src');
      const dst = uniq('ex.dst');
      await ch.assertExchange(src, 'fanout', { durable: false });
      await ch.assertExchange(dst, 'fanout', { durable: false });
      await ch.bindExchange(dst, src, '');
      await ch.deleteExchange(dst, { ifUnused: true });
      await expectChannelError(conn, (c) => c.checkExchange(dst), NOT_FOUND);
      // The source, now unused, can be deleted with ifUnused too.
      await ch.deleteExchange(src, { ifUnused: true });
    });
  });

  test('deleting a missing exchange succeeds', async () => {
    await withChannel(async (ch) => {
      await ch.deleteExchange(uniq('never.declared'));
      await ch.deleteExchange(uniq('never.declared'), { ifUnused: true });
    });
  });

  test("deleting 'amq.direct' or the default exchange fails with 403, and they survive", async () => {
    await withConn(async (conn) => {
      await expectChannelError(conn, (ch) => ch.deleteExchange('amq.direct'), ACCESS_REFUSED);
      await expectChannelError(conn, (ch) => ch.deleteExchange(''), ACCESS_REFUSED);
      const ch = await conn.createChannel();
      await ch.checkExchange('amq.direct');
      await ch.checkExchange('');
    });
  });
});

describe('basic.publish to unusable exchanges', () => {
  test('publishing to a missing exchange closes the channel with 404', async () => {
    await withConn(async (conn) => {
      await expectChannelError(conn, (ch) => ch.publish(uniq('nowhere'), 'k', Buffer.from('x')), NOT_FOUND);
    });
  });

  test('publishing to an internal exchange closes the channel with 403; it still routes via exchange bindings', async () => {
    await withConn(async (conn) => {
      const ch = await conn.createConfirmChannel();
      const internal = uniq('ex.internal');
      const front = uniq('ex.front');
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await ch.assertExchange(internal, 'fanout', { durable: false, internal: true });
      await ch.assertExchange(front, 'fanout', { durable: false });
      await ch.bindQueue(queue, internal, '');
      await ch.bindExchange(internal, front, '');
      await expectChannelError(conn, (c) => c.publish(internal, '', Buffer.from('direct')), ACCESS_REFUSED);
      await publish(ch, front, '', 'via-front');
      assert.deepEqual(await drain(ch, queue), ['via-front']);
      await ch.deleteExchange(front);
      await ch.deleteExchange(internal);
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('routing: direct and fanout', () => {
  test('direct: exact routing key only', async () => {
    await withChannel(async (ch) => {
      const ex = uniq('ex.direct');
      await ch.assertExchange(ex, 'direct', { durable: false });
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await ch.bindQueue(queue, ex, 'a.b');
      for (const key of ['a.b', 'a', 'a.b.c', 'A.B', '', 'a.*']) await publish(ch, ex, key, key);
      assert.deepEqual(await drain(ch, queue), ['a.b']);
      await ch.deleteExchange(ex);
    });
  });

  test('direct: a key bound by two queues reaches both', async () => {
    await withChannel(async (ch) => {
      const ex = uniq('ex.direct2');
      await ch.assertExchange(ex, 'direct', { durable: false });
      const q1 = (await ch.assertQueue('', { exclusive: true })).queue;
      const q2 = (await ch.assertQueue('', { exclusive: true })).queue;
      await ch.bindQueue(q1, ex, 'k');
      await ch.bindQueue(q2, ex, 'k');
      await ch.bindQueue(q2, ex, 'only2');
      await publish(ch, ex, 'k', 'both');
      await publish(ch, ex, 'only2', 'two');
      assert.deepEqual(await drain(ch, q1), ['both']);
      assert.deepEqual(await drain(ch, q2), ['both', 'two']);
      await ch.deleteExchange(ex);
    });
  });

  test('direct: one queue bound with two keys gets one copy per message; binding twice is idempotent', async () => {
    await withChannel(async (ch) => {
      const ex = uniq('ex.direct3');
      await ch.assertExchange(ex, 'direct', { durable: false });
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await ch.bindQueue(queue, ex, 'k1');
      await ch.bindQueue(queue, ex, 'k2');
      await ch.bindQueue(queue, ex, 'k1');
      await publish(ch, ex, 'k1', 'm1');
      await publish(ch, ex, 'k2', 'm2');
      await publish(ch, ex, 'k3', 'm3');
      assert.deepEqual(await drain(ch, queue), ['m1', 'm2']);
      // One unbind removes the (single) k1 binding.
      await ch.unbindQueue(queue, ex, 'k1');
      await publish(ch, ex, 'k1', 'm4');
      await publish(ch, ex, 'k2', 'm5');
      assert.deepEqual(await drain(ch, queue), ['m5']);
      await ch.deleteExchange(ex);
    });
  });

  test('fanout: every bound queue gets one copy whatever the routing key', async () => {
    await withChannel(async (ch) => {
      const ex = uniq('ex.fanout');
      await ch.assertExchange(ex, 'fanout', { durable: false });
      const queues = [];
      for (let i = 0; i < 3; i++) queues.push((await ch.assertQueue('', { exclusive: true })).queue);
      await ch.bindQueue(queues[0]!, ex, '');
      await ch.bindQueue(queues[1]!, ex, 'ignored');
      await ch.bindQueue(queues[2]!, ex, 'x');
      await ch.bindQueue(queues[2]!, ex, 'y'); // two bindings, still one copy
      await publish(ch, ex, 'anything', 'm1');
      await publish(ch, ex, '', 'm2');
      for (const q of queues) assert.deepEqual(await drain(ch, q), ['m1', 'm2'], q);
      await ch.unbindQueue(queues[2]!, ex, 'x');
      await publish(ch, ex, 'k', 'm3');
      assert.deepEqual(await drain(ch, queues[2]!), ['m3']);
      await ch.unbindQueue(queues[2]!, ex, 'y');
      await publish(ch, ex, 'k', 'm4');
      assert.deepEqual(await drain(ch, queues[2]!), []);
      assert.deepEqual(await drain(ch, queues[0]!), ['m3', 'm4']);
      await ch.deleteExchange(ex);
    });
  });

  test('the default exchange routes by queue name, and drops unknown names', async () => {
    await withChannel(async (ch) => {
      const name = uniq('q.default');
      await ch.assertQueue(name, { exclusive: true });
      await publish(ch, '', name, 'hello');
      await publish(ch, '', uniq('q.nonexistent'), 'lost');
      ch.sendToQueue(name, Buffer.from('again'));
      await ch.waitForConfirms();
      assert.deepEqual(await drain(ch, name), ['hello', 'again']);
    });
  });

  test('binding a queue to or unbinding it from the default exchange fails with 403', async () => {
    await withConn(async (conn) => {
      const ch = await conn.createChannel();
      const { queue } = await ch.assertQueue('', { exclusive: true });
      const ex = uniq('ex.for.default');
      await ch.assertExchange(ex, 'direct', { durable: false });
      await expectChannelError(conn, (c) => c.bindQueue(queue, '', 'k'), ACCESS_REFUSED);
      await expectChannelError(conn, (c) => c.unbindQueue(queue, '', queue), ACCESS_REFUSED);
      await expectChannelError(conn, (c) => c.bindExchange(ex, '', 'k'), ACCESS_REFUSED);
      await expectChannelError(conn, (c) => c.bindExchange('', ex, 'k'), ACCESS_REFUSED);
      await ch.deleteExchange(ex);
    });
  });
});

describe('routing: topic', () => {
  const KEYS = ['a', 'b', 'c', 'a.b', 'a.b.c', 'a.x.b', 'a.x.y.b', 'x.b.y', 'x.y.c', 'a.b.c.d', 'b.a'];
  const EXPECTED: Record<string, string[]> = {
    'a.b': ['a.b'],
    'a.*': ['a.b'],
    '*': ['a', 'b', 'c'],
    '*.*': ['a.b', 'b.a'],
    'a.#': ['a', 'a.b', 'a.b.c', 'a.b.c.d', 'a.x.b', 'a.x.y.b'],
    '#': KEYS,
    '#.#': KEYS,
    '#.c': ['a.b.c', 'c', 'x.y.c'],
    '*.b.*': ['a.b.c', 'x.b.y'],
    '*.*.c': ['a.b.c', 'x.y.c'],
    'a.#.b': ['a.b', 'a.x.b', 'a.x.y.b'],
    '#.b.#': ['a.b', 'a.b.c', 'a.b.c.d', 'a.x.b', 'a.x.y.b', 'b', 'b.a', 'x.b.y'],
    'a.*.#': ['a.b', 'a.b.c', 'a.b.c.d', 'a.x.b', 'a.x.y.b'],
    '#.*.c.#': ['a.b.c', 'a.b.c.d', 'x.y.c'],
    'a.b.c.d': ['a.b.c.d'],
    'x.#.y.#': ['x.b.y', 'x.y.c'],
    'y.#': [],
  };

  test('*, #, # matching zero words, a.#.b and multi-level patterns, each on its own queue', async () => {
    await withChannel(async (ch) => {
      const ex = uniq('ex.topic');
      await ch.assertExchange(ex, 'topic', { durable: false });
      const queueFor = new Map<string, string>();
      for (const pattern of Object.keys(EXPECTED)) {
        const { queue } = await ch.assertQueue('', { exclusive: true });
        await ch.bindQueue(queue, ex, pattern);
        queueFor.set(pattern, queue);
      }
      for (const key of KEYS) await publish(ch, ex, key, key);
      const got: Record<string, string[]> = {};
      for (const [pattern, queue] of queueFor) got[pattern] = await sortedDrain(ch, queue);
      const want = Object.fromEntries(Object.entries(EXPECTED).map(([p, keys]) => [p, [...keys].sort()]));
      assert.deepEqual(got, want);
      await ch.deleteExchange(ex);
    });
  });

  test('a message matching several bindings of one queue is delivered to it once', async () => {
    await withChannel(async (ch) => {
      const ex = uniq('ex.topic.many');
      await ch.assertExchange(ex, 'topic', { durable: false });
      const { queue } = await ch.assertQueue('', { exclusive: true });
      for (const pattern of ['a.b.c', 'a.*.c', 'a.#', '#', '#.c', '*.b.*', 'a.#.#', '#.#.c']) {
        await ch.bindQueue(queue, ex, pattern);
      }
      await publish(ch, ex, 'a.b.c', 'once');
      await publish(ch, ex, 'z', 'hash-only');
      assert.deepEqual(await drain(ch, queue), ['once', 'hash-only']);
      // Remove bindings one by one: the message keeps arriving exactly once until the last goes.
      for (const pattern of ['#', 'a.#', 'a.b.c', '*.b.*', 'a.*.c', '#.c', 'a.#.#']) {
        await ch.unbindQueue(queue, ex, pattern);
        await publish(ch, ex, 'a.b.c', pattern);
        assert.deepEqual(await drain(ch, queue), [pattern], `after unbinding ${pattern}`);
      }
      await ch.unbindQueue(queue, ex, '#.#.c');
      await publish(ch, ex, 'a.b.c', 'none');
      assert.deepEqual(await drain(ch, queue), []);
      await ch.deleteExchange(ex);
    });
  });

  test('many queues with overlapping bindings each get one copy; amq.topic routes the same way', async () => {
    await withChannel(async (ch) => {
      const tag = uniq('t').replace(/\./g, '_');
      const queues: string[] = [];
      for (let i = 0; i < 20; i++) {
        const { queue } = await ch.assertQueue('', { exclusive: true });
        queues.push(queue);
        // Queue i: its own exact key, a wildcard shared by the even or the odd queues, and for
        // the first five a catch-all that overlaps both.
        await ch.bindQueue(queue, 'amq.topic', `${tag}.q${i}`);
        await ch.bindQueue(queue, 'amq.topic', i % 2 === 0 ? `${tag}.even.#` : `${tag}.*.odd`);
        if (i < 5) await ch.bindQueue(queue, 'amq.topic', `${tag}.#`);
      }
      await publish(ch, 'amq.topic', `${tag}.q3`, 'to3');
      await publish(ch, 'amq.topic', `${tag}.even`, 'even');
      await publish(ch, 'amq.topic', `${tag}.x.odd`, 'odd');
      for (let i = 0; i < 20; i++) {
        const want: string[] = [];
        if (i === 3 || i < 5) want.push('to3');
        if (i % 2 === 0 || i < 5) want.push('even');
        if (i % 2 === 1 || i < 5) want.push('odd');
        assert.deepEqual(await drain(ch, queues[i]!), want, `queue ${i}`);
      }
    });
  });
});

describe('routing: headers', () => {
  async function headersCase(bindArgs: Record<string, unknown>, messages: Record<string, Record<string, unknown> | undefined>,
    expected: string[], exchange?: string): Promise<void> {
    await withChannel(async (ch) => {
      const ex = exchange ?? uniq('ex.headers');
      if (!exchange) await ch.assertExchange(ex, 'headers', { durable: false });
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await ch.bindQueue(queue, ex, '', bindArgs);
      for (const [body, headers] of Object.entries(messages)) await publish(ch, ex, 'ignored', body, headers ? { headers } : {});
      assert.deepEqual(await sortedDrain(ch, queue), [...expected].sort(), JSON.stringify(bindArgs));
      if (!exchange) await ch.deleteExchange(ex);
      else await ch.unbindQueue(queue, ex, '', bindArgs);
    });
  }

  test('x-match all (the default): every binding header must be present and equal', async () => {
    const messages = {
      exact: { a: 'one', b: 2 },
      extra: { a: 'one', b: 2, c: 'more' },
      missingB: { a: 'one' },
      wrongB: { a: 'one', b: 3 },
      none: undefined,
      empty: {},
    };
    await headersCase({ 'x-match': 'all', a: 'one', b: 2 }, messages, ['exact', 'extra']);
    await headersCase({ a: 'one', b: 2 }, messages, ['exact', 'extra']);
  });

  test('x-match any: at least one binding header must match', async () => {
    await headersCase({ 'x-match': 'any', a: 'one', b: 2 }, {
      both: { a: 'one', b: 2 },
      onlyA: { a: 'one' },
      onlyB: { b: 2, z: 'z' },
      wrongBoth: { a: 'two', b: 3 },
      other: { c: 1 },
      none: undefined,
    }, ['both', 'onlyA', 'onlyB']);
  });

  test('x-match all with no other arguments matches every message; any with none matches nothing', async () => {
    const messages = { h: { a: 1 }, none: undefined };
    await headersCase({ 'x-match': 'all' }, messages, ['h', 'none']);
    await headersCase({ 'x-match': 'any' }, messages, []);
  });

  test('x- keys in the binding are ignored by all and any', async () => {
    await headersCase({ 'x-match': 'all', a: 'one', 'x-tag': 'v' }, {
      noX: { a: 'one' },
      wrongX: { a: 'one', 'x-tag': 'other' },
      onlyX: { 'x-tag': 'v' },
    }, ['noX', 'wrongX']);
    await headersCase({ 'x-match': 'any', 'x-tag': 'v', b: 1 }, {
      onlyX: { 'x-tag': 'v' },
      b: { b: 1 },
    }, ['b']);
  });

  test('all-with-x and any-with-x also compare x- keys', async () => {
    await headersCase({ 'x-match': 'all-with-x', a: 'one', 'x-tag': 'v' }, {
      both: { a: 'one', 'x-tag': 'v' },
      noX: { a: 'one' },
      wrongX: { a: 'one', 'x-tag': 'w' },
    }, ['both']);
    await headersCase({ 'x-match': 'any-with-x', a: 'one', 'x-tag': 'v' }, {
      onlyX: { 'x-tag': 'v' },
      onlyA: { a: 'one' },
      neither: { a: 'two', 'x-tag': 'w' },
    }, ['onlyX', 'onlyA']);
  });

  test('numbers match whatever integer field type the publisher used', async () => {
    // amqplib encodes 5 in the binding as a signed byte ('b').
    await headersCase({ 'x-match': 'all', n: 5, big: 100000 }, {
      asByte: { n: 5, big: 100000 },
      asShort: { n: { '!': 'int16', value: 5 }, big: { '!': 'int64', value: 100000 } },
      asInt: { n: { '!': 'int32', value: 5 }, big: 100000 },
      asLong: { n: { '!': 'int64', value: 5 }, big: { '!': 'int32', value: 100000 } },
      asUnsigned: { n: { '!': 'uint8', value: 5 }, big: { '!': 'uint32', value: 100000 } },
      wrong: { n: { '!': 'int64', value: 6 }, big: 100000 },
    }, ['asByte', 'asShort', 'asInt', 'asLong', 'asUnsigned']);
  });

  test('amq.headers and amq.match route by headers', async () => {
    await headersCase({ 'x-match': 'any', route: 'yes' }, { yes: { route: 'yes' }, no: { route: 'no' } }, ['yes'], 'amq.headers');
    await headersCase({ route: 'yes' }, { yes: { route: 'yes' }, no: {} }, ['yes'], 'amq.match');
  });

  test('an invalid x-match value fails the bind with 406', async () => {
    await withConn(async (conn) => {
      const ch = await conn.createChannel();
      const ex = uniq('ex.headers.bad');
      const other = uniq('ex.other');
      await ch.assertExchange(ex, 'headers', { durable: false });
      await ch.assertExchange(other, 'fanout', { durable: false });
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await expectChannelError(conn, (c) => c.bindQueue(queue, ex, '', { 'x-match': 'some', a: 1 }), PRECONDITION_FAILED);
      await expectChannelError(conn, (c) => c.bindExchange(other, ex, '', { 'x-match': 'none' }), PRECONDITION_FAILED);
      // No binding was made.
      const pub = await conn.createConfirmChannel();
      await publish(pub, ex, '', 'm', { headers: { a: 1 } });
      assert.deepEqual(await drain(pub, queue), []);
      await ch.deleteExchange(ex);
      await ch.deleteExchange(other);
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('exchange-to-exchange bindings', () => {
  test('a chain of two exchanges routes by each hop\'s rules', async () => {
    await withChannel(async (ch) => {
      const head = uniq('ex.head');
      const tail = uniq('ex.tail');
      await ch.assertExchange(head, 'direct', { durable: false });
      await ch.assertExchange(tail, 'fanout', { durable: false });
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await ch.bindExchange(tail, head, 'k');
      await ch.bindQueue(queue, tail, '');
      await publish(ch, head, 'k', 'through');
      await publish(ch, head, 'other', 'blocked');
      await publish(ch, tail, 'whatever', 'direct-to-tail');
      assert.deepEqual(await drain(ch, queue), ['through', 'direct-to-tail']);
      await ch.deleteExchange(head);
      await ch.deleteExchange(tail);
    });
  });

  test('a chain of three exchanges (topic → direct → headers)', async () => {
    await withChannel(async (ch) => {
      const x1 = uniq('ex.c1');
      const x2 = uniq('ex.c2');
      const x3 = uniq('ex.c3');
      await ch.assertExchange(x1, 'topic', { durable: false });
      await ch.assertExchange(x2, 'direct', { durable: false });
      await ch.assertExchange(x3, 'headers', { durable: false });
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await ch.bindExchange(x2, x1, 'orders.#');
      await ch.bindExchange(x3, x2, 'orders.eu');
      await ch.bindQueue(queue, x3, '', { 'x-match': 'all', prio: 'high' });
      await publish(ch, x1, 'orders.eu', 'hit', { headers: { prio: 'high' } });
      await publish(ch, x1, 'orders.eu', 'low', { headers: { prio: 'low' } });
      await publish(ch, x1, 'orders.us', 'us', { headers: { prio: 'high' } });
      await publish(ch, x1, 'stock.eu', 'stock', { headers: { prio: 'high' } });
      assert.deepEqual(await drain(ch, queue), ['hit']);
      for (const x of [x1, x2, x3]) await ch.deleteExchange(x);
    });
  });

  test('a cycle of exchanges neither loops nor duplicates; a diamond delivers one copy', async () => {
    await withChannel(async (ch) => {
      const a = uniq('ex.cyc.a');
      const bx = uniq('ex.cyc.b');
      const c = uniq('ex.cyc.c');
      for (const x of [a, bx, c]) await ch.assertExchange(x, 'fanout', { durable: false });
      const { queue } = await ch.assertQueue('', { exclusive: true });
      // a → b → c → a, and the queue bound to all three.
      await ch.bindExchange(bx, a, '');
      await ch.bindExchange(c, bx, '');
      await ch.bindExchange(a, c, '');
      await ch.bindQueue(queue, a, '');
      await ch.bindQueue(queue, bx, '');
      await ch.bindQueue(queue, c, '');
      await publish(ch, a, '', 'from-a');
      await publish(ch, c, '', 'from-c');
      assert.deepEqual(await drain(ch, queue), ['from-a', 'from-c']);
      // A self-binding is harmless too.
      await ch.bindExchange(a, a, '');
      await publish(ch, a, '', 'self');
      assert.deepEqual(await drain(ch, queue), ['self']);

      // Diamond: d → e, d → f, e → q2, f → q2.
      const d = uniq('ex.dia.d');
      const e = uniq('ex.dia.e');
      const f = uniq('ex.dia.f');
      for (const x of [d, e, f]) await ch.assertExchange(x, 'fanout', { durable: false });
      const q2 = (await ch.assertQueue('', { exclusive: true })).queue;
      await ch.bindExchange(e, d, '');
      await ch.bindExchange(f, d, '');
      await ch.bindQueue(q2, e, '');
      await ch.bindQueue(q2, f, '');
      await publish(ch, d, '', 'diamond');
      assert.deepEqual(await drain(ch, q2), ['diamond']);
      for (const x of [a, bx, c, d, e, f]) await ch.deleteExchange(x);
    });
  });

  test('unbindExchange stops routing; unbinding a missing binding succeeds', async () => {
    await withChannel(async (ch) => {
      const src = uniq('ex.ub.src');
      const dst = uniq('ex.ub.dst');
      await ch.assertExchange(src, 'topic', { durable: false });
      await ch.assertExchange(dst, 'fanout', { durable: false });
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await ch.bindQueue(queue, dst, '');
      await ch.bindExchange(dst, src, 'a.*');
      await ch.bindExchange(dst, src, '#.z');
      await publish(ch, src, 'a.z', 'both-bindings');
      assert.deepEqual(await drain(ch, queue), ['both-bindings']);
      await ch.unbindExchange(dst, src, 'a.*');
      await publish(ch, src, 'a.b', 'gone');
      await publish(ch, src, 'y.z', 'still');
      assert.deepEqual(await drain(ch, queue), ['still']);
      await ch.unbindExchange(dst, src, '#.z');
      await ch.unbindExchange(dst, src, '#.z');
      await ch.unbindExchange(dst, src, 'never.bound');
      await publish(ch, src, 'y.z', 'none');
      assert.deepEqual(await drain(ch, queue), []);
      await ch.deleteExchange(src);
      await ch.deleteExchange(dst);
    });
  });

  test('binding to or from a missing exchange fails with 404', async () => {
    await withConn(async (conn) => {
      const ch = await conn.createChannel();
      const ex = uniq('ex.present');
      await ch.assertExchange(ex, 'fanout', { durable: false });
      await expectChannelError(conn, (c) => c.bindExchange(ex, uniq('ex.missing'), ''), NOT_FOUND);
      await expectChannelError(conn, (c) => c.bindExchange(uniq('ex.missing'), ex, ''), NOT_FOUND);
      await ch.deleteExchange(ex);
    });
  });

  test('an auto-delete exchange disappears when its last binding is removed, not before', async () => {
    await withConn(async (conn) => {
      const ch = await conn.createChannel();
      const ad = uniq('ex.autodel');
      const dst = uniq('ex.ad.dst');
      await ch.assertExchange(ad, 'direct', { durable: false, autoDelete: true });
      await ch.assertExchange(dst, 'fanout', { durable: false });
      const { queue } = await ch.assertQueue('', { exclusive: true });
      // Never bound: it stays.
      await ch.checkExchange(ad);
      await ch.bindQueue(queue, ad, 'k1');
      await ch.bindExchange(dst, ad, 'k2');
      await ch.unbindQueue(queue, ad, 'k1');
      await ch.checkExchange(ad); // one binding left
      await ch.unbindExchange(dst, ad, 'k2');
      await expectChannelError(conn, (c) => c.checkExchange(ad), NOT_FOUND);
      await ch.deleteExchange(dst);
    });
  });

  test('an auto-delete exchange disappears when the queue it was bound to is deleted', async () => {
    await withConn(async (conn) => {
      const ch = await conn.createChannel();
      const ad = uniq('ex.autodel.q');
      await ch.assertExchange(ad, 'fanout', { durable: false, autoDelete: true });
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await ch.bindQueue(queue, ad, '');
      await ch.deleteQueue(queue);
      await expectChannelError(conn, (c) => c.checkExchange(ad), NOT_FOUND);
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('queue.declare', () => {
  test('server-named queues get the amq.gen- prefix and distinct names', async () => {
    await withChannel(async (ch) => {
      const q1 = await ch.assertQueue('', { exclusive: true });
      const q2 = await ch.assertQueue('', { exclusive: true });
      assert.match(q1.queue, /^amq\.gen-/);
      assert.match(q2.queue, /^amq\.gen-/);
      assert.notEqual(q1.queue, q2.queue);
      assert.equal(q1.messageCount, 0);
      assert.equal(q1.consumerCount, 0);
      await publish(ch, '', q1.queue, 'm');
      assert.deepEqual(await drain(ch, q1.queue), ['m']);
    });
  });

  test('declare-ok carries messageCount and consumerCount', async () => {
    await withChannel(async (ch, conn) => {
      const name = uniq('q.counts');
      assert.deepEqual(await ch.assertQueue(name, { durable: false }), { queue: name, messageCount: 0, consumerCount: 0 });
      for (let i = 0; i < 3; i++) await publish(ch, '', name, `m${i}`);
      assert.deepEqual(await ch.assertQueue(name, { durable: false }), { queue: name, messageCount: 3, consumerCount: 0 });
      assert.deepEqual(await ch.checkQueue(name), { queue: name, messageCount: 3, consumerCount: 0 });
      await ch.purgeQueue(name);
      const cch = await conn.createChannel();
      await cch.consume(name, () => {}, { noAck: true });
      await cch.consume(name, () => {}, { noAck: true });
      assert.deepEqual(await ch.checkQueue(name), { queue: name, messageCount: 0, consumerCount: 2 });
      await ch.deleteQueue(name);
    });
  });

  test('passive declare of a missing queue fails with 404', async () => {
    await withConn(async (conn) => {
      await expectChannelError(conn, (ch) => ch.checkQueue(uniq('q.missing')), NOT_FOUND);
    });
  });

  test('passive declare of an exclusive queue by its own connection succeeds, from any of its channels', async () => {
    // RabbitMQ: a passive declare ignores the exclusive flag and checks ownership leniently
    // (check_exclusive_access, lax), so the owner may always inspect its queue.
    await withChannel(async (ch, conn) => {
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await publish(ch, '', queue, 'm');
      assert.deepEqual(await ch.checkQueue(queue), { queue, messageCount: 1, consumerCount: 0 });
      const other = await conn.createChannel();
      assert.deepEqual(await other.checkQueue(queue), { queue, messageCount: 1, consumerCount: 0 });
    });
  });

  test('redeclare with a different durable or auto-delete fails with 406', async () => {
    await withConn(async (conn) => {
      const ch = await conn.createChannel();
      const name = uniq('q.equiv');
      await ch.assertQueue(name, { durable: false, autoDelete: false });
      await expectChannelError(conn, (c) => c.assertQueue(name, { durable: true }), PRECONDITION_FAILED);
      await expectChannelError(conn, (c) => c.assertQueue(name, { durable: false, autoDelete: true }), PRECONDITION_FAILED);
      await ch.assertQueue(name, { durable: false, autoDelete: false });
      await ch.deleteQueue(name);
    });
  });

  test('redeclaring a non-exclusive queue as exclusive fails with 405, as does the reverse', async () => {
    // RabbitMQ checks exclusive ownership (check_exclusive_access, strict) before the other
    // properties: an exclusive flag that does not match the queue's owner is RESOURCE_LOCKED.
    await withConn(async (conn) => {
      const ch = await conn.createChannel();
      const shared = uniq('q.shared');
      await ch.assertQueue(shared, { durable: false });
      await expectChannelError(conn, (c) => c.assertQueue(shared, { durable: false, exclusive: true }), RESOURCE_LOCKED);
      const excl = uniq('q.excl.same');
      await ch.assertQueue(excl, { durable: false, exclusive: true });
      await expectChannelError(conn, (c) => c.assertQueue(excl, { durable: false, exclusive: false }), RESOURCE_LOCKED);
      await ch.deleteQueue(shared);
    });
  });

  test("a queue name starting with 'amq.' fails with 403", async () => {
    await withConn(async (conn) => {
      await expectChannelError(conn, (ch) => ch.assertQueue('amq.x'), ACCESS_REFUSED);
      await expectChannelError(conn, (ch) => ch.assertQueue('amq.gen-mine', { exclusive: true }), ACCESS_REFUSED);
    });
  });

  test('x-arguments: a different x-message-ttl fails with 406, an unknown x-foo difference does not', async () => {
    await withConn(async (conn) => {
      const ch = await conn.createChannel();
      const name = uniq('q.args');
      await ch.assertQueue(name, { durable: false, messageTtl: 1000, arguments: { 'x-foo': 'a' } });
      await ch.assertQueue(name, { durable: false, messageTtl: 1000, arguments: { 'x-foo': 'a' } });
      await ch.assertQueue(name, { durable: false, messageTtl: 1000, arguments: { 'x-foo': 'b' } });
      await ch.assertQueue(name, { durable: false, messageTtl: 1000 });
      // The same value with another integer field type is equivalent (RabbitMQ compares type classes).
      await ch.assertQueue(name, { durable: false, arguments: { 'x-message-ttl': { '!': 'int64', value: 1000 } } });
      await expectChannelError(conn, (c) => c.assertQueue(name, { durable: false, messageTtl: 2000 }), PRECONDITION_FAILED);
      await expectChannelError(conn, (c) => c.assertQueue(name, { durable: false }), PRECONDITION_FAILED);
      await expectChannelError(conn, (c) => c.assertQueue(name, { durable: false, messageTtl: 1000, maxLength: 10 }), PRECONDITION_FAILED);
      await ch.deleteQueue(name);
    });
  });
});

describe('exclusive and auto-delete queues', () => {
  test('an exclusive queue used from another connection fails with 405 (declare, passive, consume, get, bind, unbind, purge, delete)', async () => {
    await withConn(async (owner) => {
      const och = await owner.createChannel();
      const name = uniq('q.exclusive');
      await och.assertQueue(name, { exclusive: true });
      await och.bindQueue(name, 'amq.direct', name);
      await withConn(async (other) => {
        await expectChannelError(other, (ch) => ch.assertQueue(name, { exclusive: true }), RESOURCE_LOCKED);
        await expectChannelError(other, (ch) => ch.assertQueue(name, { exclusive: false }), RESOURCE_LOCKED);
        await expectChannelError(other, (ch) => ch.checkQueue(name), RESOURCE_LOCKED);
        await expectChannelError(other, (ch) => ch.consume(name, () => {}), RESOURCE_LOCKED);
        await expectChannelError(other, (ch) => ch.get(name), RESOURCE_LOCKED);
        await expectChannelError(other, (ch) => ch.bindQueue(name, 'amq.fanout', ''), RESOURCE_LOCKED);
        await expectChannelError(other, (ch) => ch.unbindQueue(name, 'amq.direct', name), RESOURCE_LOCKED);
        await expectChannelError(other, (ch) => ch.purgeQueue(name), RESOURCE_LOCKED);
        await expectChannelError(other, (ch) => ch.deleteQueue(name), RESOURCE_LOCKED);
        // Publishing to it from elsewhere is allowed.
        const pub = await other.createConfirmChannel();
        await publish(pub, 'amq.direct', name, 'from-other');
      });
      // The owner still has it, binding intact.
      assert.deepEqual(await drain(och, name), ['from-other']);
      const ok = await och.assertQueue(name, { exclusive: true });
      assert.equal(ok.queue, name);
    });
  });

  test('an exclusive queue is deleted when its connection closes', async () => {
    const name = uniq('q.excl.gone');
    const owner = await connect();
    try {
      const ch = await owner.createChannel();
      await ch.assertQueue(name, { exclusive: true, durable: true });
      await ch.bindQueue(name, 'amq.fanout', '');
      await ch.consume(name, () => {});
    } finally {
      await owner.close();
    }
    await waitFor(() => !vhost().queues.has(name), TIMEOUT, `exclusive queue ${name} deleted`);
    await withConn(async (conn) => {
      await expectChannelError(conn, (ch) => ch.checkQueue(name), NOT_FOUND);
      // The name is free for another connection.
      const ch = await conn.createChannel();
      await ch.assertQueue(name, { exclusive: true });
    });
  });

  test('an auto-delete queue stays until it had a consumer, and goes when the last consumer cancels', async () => {
    await withConn(async (conn) => {
      const ch = await conn.createChannel();
      const name = uniq('q.autodel');
      await ch.assertQueue(name, { autoDelete: true, durable: false });
      await new Promise((r) => setTimeout(r, 50));
      assert.equal((await ch.checkQueue(name)).consumerCount, 0); // never had a consumer: still there
      const c1 = await ch.consume(name, () => {}, { noAck: true });
      const c2 = await ch.consume(name, () => {}, { noAck: true });
      await ch.cancel(c1.consumerTag);
      assert.equal((await ch.checkQueue(name)).consumerCount, 1);
      await ch.cancel(c2.consumerTag);
      await waitFor(() => !vhost().queues.has(name), TIMEOUT, `auto-delete queue ${name} deleted`);
      await expectChannelError(conn, (c) => c.checkQueue(name), NOT_FOUND);
    });
  });

  test('an auto-delete queue goes when the channel of its last consumer closes', async () => {
    await withConn(async (conn) => {
      const ch = await conn.createChannel();
      const name = uniq('q.autodel.ch');
      await ch.assertQueue(name, { autoDelete: true, durable: false });
      const cch = await conn.createChannel();
      await cch.consume(name, () => {});
      await cch.close();
      await waitFor(() => !vhost().queues.has(name), TIMEOUT, `auto-delete queue ${name} deleted`);
      await expectChannelError(conn, (c) => c.checkQueue(name), NOT_FOUND);
    });
  });
});

describe('queue.purge, queue.delete, queue.bind, queue.unbind', () => {
  test('purge returns the number of messages removed', async () => {
    await withChannel(async (ch) => {
      const name = uniq('q.purge');
      await ch.assertQueue(name, { durable: false });
      for (let i = 0; i < 4; i++) await publish(ch, '', name, `m${i}`);
      assert.deepEqual(await ch.purgeQueue(name), { messageCount: 4 });
      assert.equal((await ch.checkQueue(name)).messageCount, 0);
      assert.deepEqual(await ch.purgeQueue(name), { messageCount: 0 });
      await ch.deleteQueue(name);
    });
  });

  test('purge of a missing queue fails with 404', async () => {
    await withConn(async (conn) => {
      await expectChannelError(conn, (ch) => ch.purgeQueue(uniq('q.missing')), NOT_FOUND);
    });
  });

  test('delete returns the message count and removes the queue', async () => {
    await withConn(async (conn) => {
      const ch = await conn.createConfirmChannel();
      const name = uniq('q.delete');
      await ch.assertQueue(name, { durable: false });
      await publish(ch, '', name, 'a');
      await publish(ch, '', name, 'b');
      assert.deepEqual(await ch.deleteQueue(name), { messageCount: 2 });
      await expectChannelError(conn, (c) => c.checkQueue(name), NOT_FOUND);
      // Deleting a missing queue succeeds with a count of 0.
      assert.deepEqual(await ch.deleteQueue(name), { messageCount: 0 });
    });
  });

  test('delete ifUnused with a consumer fails with 406; ifEmpty with messages fails with 406', async () => {
    await withConn(async (conn) => {
      const ch = await conn.createConfirmChannel();
      const name = uniq('q.cond');
      await ch.assertQueue(name, { durable: false });
      const { consumerTag } = await ch.consume(name, () => {}, { noAck: true });
      await expectChannelError(conn, (c) => c.deleteQueue(name, { ifUnused: true }), PRECONDITION_FAILED);
      await ch.cancel(consumerTag);
      await publish(ch, '', name, 'keep');
      await expectChannelError(conn, (c) => c.deleteQueue(name, { ifEmpty: true }), PRECONDITION_FAILED);
      assert.equal((await ch.checkQueue(name)).messageCount, 1);
      // Both conditions now hold for ifUnused; ifEmpty after a purge.
      await ch.purgeQueue(name);
      assert.deepEqual(await ch.deleteQueue(name, { ifUnused: true, ifEmpty: true }), { messageCount: 0 });
    });
  });

  test('bind to a missing queue or from a missing exchange fails with 404', async () => {
    await withConn(async (conn) => {
      const ch = await conn.createChannel();
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await expectChannelError(conn, (c) => c.bindQueue(uniq('q.missing'), 'amq.direct', 'k'), NOT_FOUND);
      await expectChannelError(conn, (c) => c.bindQueue(queue, uniq('ex.missing'), 'k'), NOT_FOUND);
    });
  });

  test('unbinding a binding that does not exist succeeds', async () => {
    await withChannel(async (ch) => {
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await ch.unbindQueue(queue, 'amq.direct', 'never-bound');
      await ch.bindQueue(queue, 'amq.direct', 'bound');
      await ch.unbindQueue(queue, 'amq.direct', 'bound');
      await ch.unbindQueue(queue, 'amq.direct', 'bound');
      await publish(ch, 'amq.direct', 'bound', 'x');
      assert.deepEqual(await drain(ch, queue), []);
    });
  });

  test('deleting a queue removes its bindings', async () => {
    await withChannel(async (ch) => {
      const name = uniq('q.rebind');
      await ch.assertQueue(name, { exclusive: true });
      await ch.bindQueue(name, 'amq.direct', name + '.k');
      await ch.deleteQueue(name);
      await ch.assertQueue(name, { exclusive: true });
      await publish(ch, 'amq.direct', name + '.k', 'old-binding');
      assert.deepEqual(await drain(ch, name), []);
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('error scope', () => {
  test('a soft error closes only that channel; another channel on the connection keeps working', async () => {
    await withConn(async (conn) => {
      const good = await conn.createConfirmChannel();
      good.on('error', () => {});
      let goodClosed = false;
      good.on('close', () => { goodClosed = true; });
      const bad = await conn.createChannel();
      const badErr = new Promise<Error>((resolve) => bad.once('error', resolve));
      await assert.rejects(bad.checkQueue(uniq('q.missing')), (e) => codeOf(e) === NOT_FOUND);
      assert.equal(codeOf(await within(badErr, 'channel error')), NOT_FOUND);
      await assert.rejects(bad.checkExchange('amq.direct')); // the broken channel is unusable
      const { queue } = await good.assertQueue('', { exclusive: true });
      await publish(good, '', queue, 'still-works');
      assert.deepEqual(await drain(good, queue), ['still-works']);
      assert.equal(goodClosed, false);
      // New channels can be opened on the same connection.
      const fresh = await conn.createChannel();
      await fresh.checkExchange('amq.fanout');
    });
  });

  test('a hard error closes the connection but other connections keep working', async () => {
    await withConn(async (survivor) => {
      const sch = await survivor.createConfirmChannel();
      const { queue } = await sch.assertQueue('', { exclusive: true });

      const victim = await amqp.connect(b.url);
      const victimErr = new Promise<Error>((resolve) => victim.once('error', resolve));
      const victimClosed = new Promise<void>((resolve) => victim.once('close', () => resolve()));
      try {
        const vch = await victim.createChannel();
        const vch2 = await victim.createChannel();
        let vch2Closed = false;
        vch2.on('close', () => { vch2Closed = true; });
        vch.on('error', () => {});
        vch2.on('error', () => {});
        await assert.rejects(vch.assertExchange(uniq('ex.hard'), 'no-such-type'));
        assert.equal(codeOf(await within(victimErr, 'connection error')), COMMAND_INVALID);
        await within(victimClosed, 'connection close');
        assert.equal(vch2Closed, true, 'every channel of the connection is closed');
        await assert.rejects(victim.createChannel());
      } finally {
        await victim.close().catch(() => {});
      }

      await publish(sch, '', queue, 'survivor');
      assert.deepEqual(await drain(sch, queue), ['survivor']);
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('durable topology across a restart', () => {
  let rb: TestBroker | undefined;

  after(async () => {
    await rb?.stop();
  });

  test('durable exchanges, queues and bindings come back; transient, auto-delete and exclusive ones do not', async () => {
    rb = await startTestBroker();
    const N = uniq('r');
    const names = {
      dex: `${N}.dex`, dsrc: `${N}.dsrc`, dq: `${N}.dq`, dqArgs: `${N}.dq.args`,
      ndex: `${N}.ndex`, ndq: `${N}.ndq`, adq: `${N}.adq`, exq: `${N}.exq`,
      goneEx: `${N}.gone.ex`, goneQ: `${N}.gone.q`, dqUnbound: `${N}.dq.unbound`,
    };
    {
      const conn = await connect(rb.url);
      try {
        const ch = await conn.createChannel();
        await ch.assertExchange(names.dex, 'topic', { durable: true });
        await ch.assertExchange(names.dsrc, 'fanout', { durable: true });
        await ch.assertQueue(names.dq, { durable: true });
        await ch.assertQueue(names.dqArgs, { durable: true, messageTtl: 60000, arguments: { 'x-foo': 'bar' } });
        await ch.bindQueue(names.dq, names.dex, 'k.#');
        await ch.bindQueue(names.dq, 'amq.topic', `${N}.at.*`);
        await ch.bindExchange(names.dex, names.dsrc, '');
        await ch.assertQueue(names.dqUnbound, { durable: true });
        await ch.bindQueue(names.dqUnbound, names.dex, 'u');
        await ch.unbindQueue(names.dqUnbound, names.dex, 'u');
        await ch.assertExchange(names.goneEx, 'direct', { durable: true });
        await ch.deleteExchange(names.goneEx);
        await ch.assertQueue(names.goneQ, { durable: true });
        await ch.deleteQueue(names.goneQ);

        await ch.assertExchange(names.ndex, 'direct', { durable: false });
        await ch.bindQueue(names.dq, names.ndex, 'nd');
        await ch.assertQueue(names.ndq, { durable: false });
        await ch.bindQueue(names.ndq, names.dex, 'k.#');
        await ch.assertQueue(names.adq, { durable: false, autoDelete: true });
        await ch.assertQueue(names.exq, { durable: true, exclusive: true });
        await ch.bindQueue(names.exq, names.dex, 'k.#');
      } finally {
        await conn.close();
      }
    }

    rb = await rb.restart();

    await withConn(async (conn) => {
      const ch = await conn.createConfirmChannel();
      // Durable topology, with its properties and arguments intact.
      await ch.checkExchange(names.dex);
      await ch.checkExchange(names.dsrc);
      await ch.assertExchange(names.dex, 'topic', { durable: true });
      await ch.assertQueue(names.dq, { durable: true });
      await ch.assertQueue(names.dqArgs, { durable: true, messageTtl: 60000, arguments: { 'x-foo': 'bar' } });
      await expectChannelError(conn, (c) => c.assertQueue(names.dqArgs, { durable: true, messageTtl: 1 }), PRECONDITION_FAILED);

      // Bindings still route: the durable exchange, amq.topic, and the exchange-to-exchange binding.
      await publish(ch, names.dex, 'k.1', 'via-dex');
      await publish(ch, 'amq.topic', `${N}.at.x`, 'via-amq-topic');
      await publish(ch, names.dsrc, 'k.2', 'via-dsrc');
      await publish(ch, names.dsrc, 'other', 'dsrc-miss');
      await publish(ch, names.dex, 'u', 'unbound');
      assert.deepEqual(await drain(ch, names.dq), ['via-dex', 'via-amq-topic', 'via-dsrc']);
      assert.deepEqual(await drain(ch, names.dqUnbound), []);

      // Gone: deleted durable ones, transient ones, auto-delete and exclusive queues.
      await expectChannelError(conn, (c) => c.checkExchange(names.goneEx), NOT_FOUND);
      await expectChannelError(conn, (c) => c.checkQueue(names.goneQ), NOT_FOUND);
      await expectChannelError(conn, (c) => c.checkExchange(names.ndex), NOT_FOUND);
      await expectChannelError(conn, (c) => c.checkQueue(names.ndq), NOT_FOUND);
      await expectChannelError(conn, (c) => c.checkQueue(names.adq), NOT_FOUND);
      await expectChannelError(conn, (c) => c.checkQueue(names.exq), NOT_FOUND);
      await ch.deleteQueue(names.dq);
      await ch.deleteQueue(names.dqArgs);
      await ch.deleteQueue(names.dqUnbound);
    }, rb.url);
  });
});
