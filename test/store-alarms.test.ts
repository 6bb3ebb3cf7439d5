/**
 * Memory and disk alarms (src/core/resource-alarms.ts), as RabbitMQ's: while one is set, a
 * connection that publishes gets connection.blocked (amqplib: the 'blocked' event) and is no longer
 * read; connections that only consume keep receiving; when every alarm clears it gets
 * connection.unblocked and what it sent meanwhile is processed. Also the validation of
 * --memory-high-watermark and --disk-free-limit.
 *
 * The memory alarm runs the broker as a child process (the CLI): the test process's own memory
 * (amqplib holding deliveries) must not count towards the broker's watermark.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { startTestBroker, waitFor } from './helpers/broker.js';
import type { TestBroker } from './helpers/broker.js';
import { closeQuietly, count, qname, sleep, within } from './helpers/amqp-client.js';
import { ConfigError, loadConfig } from '../src/index.js';


const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const dirs: string[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'warren-alarms-'));
  dirs.push(d);
  return d;
}

after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// ---- a broker as a child process (see test/cli.test.ts) ----

interface Run { child: ChildProcess; stdout: string; stderr: string; exited: Promise<number | null> }

function run(args: string[], env: NodeJS.ProcessEnv = {}, killAfterMs = 60_000): Run {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, WARREN_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const r: Run = { child, stdout: '', stderr: '', exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
  child.stdout!.on('data', (d) => (r.stdout += d));
  child.stderr!.on('data', (d) => (r.stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  void r.exited.then(() => clearTimeout(timer));
  return r;
}

async function readyPort(r: Run): Promise<number> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const m = /Warren ready: AMQP on [^:\s]+:(\d+)/.exec(r.stdout);
    if (m) return Number(m[1]);
    if (r.child.exitCode !== null) throw new Error(`broker exited: ${r.stderr}`);
    if (Date.now() > deadline) throw new Error(`no ready line; stdout=${r.stdout} stderr=${r.stderr}`);
    await sleep(20);
  }
}

// ---- client helpers ----

interface Watched { conn: ChannelModel; blocked: string[]; unblocked: number }

/** A connection whose 'blocked' / 'unblocked' events are recorded. */
async function connectWatched(url: string, socketOptions?: object): Promise<Watched> {
  const conn = await amqp.connect(url, socketOptions);
  conn.on('error', () => {});
  const w: Watched = { conn, blocked: [], unblocked: 0 };
  conn.on('blocked', (reason: string) => w.blocked.push(String(reason)));
  conn.on('unblocked', () => w.unblocked++);
  return w;
}

async function openChannel(conn: ChannelModel): Promise<Channel> {
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  return ch;
}

/** Closing a connection the broker does not read could wait: amqplib closes a blocked one at once, but bound it anyway. */
async function closeBounded(conn: ChannelModel | undefined): Promise<void> {
  if (!conn) return;
  await within(closeQuietly(conn), 2000);
}

/** Polls `read` until it returns the same value for `quietMs`; returns that value. */
async function settled(read: () => number | Promise<number>, quietMs: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  let since = Date.now();
  for (;;) {
    await sleep(100);
    const now = await read();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return last;
    }
    if (Date.now() > deadline) throw new Error(`value kept changing for ${timeoutMs} ms (last ${last})`);
  }
}

async function waitForAsync(predicate: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

// ---- memory alarm ----

describe('memory alarm', () => {
  test('a publisher over the watermark is blocked and not read; consumers elsewhere keep receiving; draining unblocks it', { timeout: 90_000 }, async (t) => {
    const WATERMARK = 64 * 1024 * 1024;
    const BIG = 256 * 1024;
    const r = run(['start', '--amqp-port', '0', '--management-port', '0', '--metrics-port', '0', '--host', '127.0.0.1', '--data-dir', tempDir(), '--memory-high-watermark', String(WATERMARK)]);
    const conns: ChannelModel[] = [];
    try {
      const port = await readyPort(r);
      const url = `amqp://guest:guest@127.0.0.1:${port}`;
      const hold = qname('mem-hold'); // big messages, held unacked by a consumer: they stay in the broker's memory
      const ready = qname('mem-ready'); // small messages queued before the alarm, consumed during it
      const late = qname('mem-late'); // publishes sent after 'blocked'

      // Observer: declares, counts; never publishes, so it is never blocked.
      const observer = await connectWatched(url);
      conns.push(observer.conn);
      const obs = await openChannel(observer.conn);
      for (const q of [hold, ready, late]) await obs.assertQueue(q, { durable: false });
      const setup = await connectWatched(url);
      conns.push(setup.conn);
      const setupCh = await openChannel(setup.conn);
      for (let i = 0; i < 50; i++) setupCh.sendToQueue(ready, Buffer.from(`ready-${i}`));
      await waitForAsync(async () => (await count(obs, ready)) === 50, 10_000, 'the ready queue to fill');
      await closeBounded(setup.conn);

      // Holder: takes every big message and does not ack (until `draining`).
      const holder = await connectWatched(url);
      conns.push(holder.conn);
      const holdCh = await openChannel(holder.conn);
      const held: ConsumeMessage[] = [];
      let received = 0;
      let draining = false;
      const holdBodies = new Set<number>();
      await holdCh.consume(hold, (m) => {
        if (!m) return;
        received++;
        holdBodies.add(m.content.readUInt32BE(0));
        if (draining) holdCh.ack(m);
        else held.push(m);
      }, { noAck: false });

      // Publisher: big messages until the broker says it is blocked.
      const pub = await connectWatched(url);
      conns.push(pub.conn);
      const pubCh = await openChannel(pub.conn);
      const blockedEvent = once(pub.conn, 'blocked');
      let sent = 0;
      const limit = Math.ceil((4 * WATERMARK) / BIG); // far past the watermark: something is wrong if never blocked
      while (pub.blocked.length === 0 && sent < limit) {
        const body = Buffer.alloc(BIG, 0x61);
        body.writeUInt32BE(sent, 0);
        const ok = pubCh.sendToQueue(hold, body);
        sent++;
        if (!ok) await within(Promise.race([once(pubCh, 'drain'), blockedEvent]), 1000);
        else if (sent % 4 === 0) await sleep(5); // pace: the broker looks at memory once a second
      }
      await within(blockedEvent, 10_000);
      assert.equal(pub.blocked.length, 1, `the publisher got connection.blocked (sent ${sent} x ${BIG} bytes; broker stderr: ${r.stderr})`);
      assert.match(pub.blocked[0]!, /memory/, 'the reason names memory');
      t.diagnostic(`blocked after ${sent} publishes of ${BIG} bytes (watermark ${WATERMARK})`);

      // Publishes sent from now on wait unread: the holder stops getting new messages, 'late' stays empty.
      // (A few more big ones first: on a slow machine everything sent before 'blocked' may have been read.)
      for (let i = 0; i < 3; i++) {
        const body = Buffer.alloc(BIG, 0x61);
        body.writeUInt32BE(sent, 0);
        pubCh.sendToQueue(hold, body);
        sent++;
      }
      for (let i = 0; i < 20; i++) pubCh.sendToQueue(late, Buffer.from(`late-${i}`));
      const receivedWhileBlocked = await settled(() => received, 1500, 20_000);
      assert.ok(receivedWhileBlocked < sent, `some publishes wait unread (received ${receivedWhileBlocked} of ${sent})`);
      await sleep(2000);
      assert.equal(received, receivedWhileBlocked, 'no more publishes are processed while blocked');
      assert.equal(await count(obs, late), 0, 'publishes sent after connection.blocked are not processed');

      // Another connection that publishes is blocked too.
      const other = await connectWatched(url);
      conns.push(other.conn);
      const otherCh = await openChannel(other.conn);
      otherCh.sendToQueue(late, Buffer.from('other'));
      await waitFor(() => other.blocked.length === 1, 10_000, 'the second publisher to be blocked');

      // A consumer on another connection keeps receiving (and acking) what was queued before.
      const consumer = await connectWatched(url);
      conns.push(consumer.conn);
      const consCh = await openChannel(consumer.conn);
      const got: string[] = [];
      await consCh.consume(ready, (m) => {
        if (!m) return;
        got.push(m.content.toString());
        consCh.ack(m);
      });
      await waitFor(() => got.length === 50, 10_000, 'the ready messages to be consumed during the alarm');
      assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => `ready-${i}`));
      await waitForAsync(async () => (await count(obs, ready)) === 0, 5000, 'the ready queue to be empty');
      assert.equal(consumer.blocked.length, 0, 'a consumer-only connection is never blocked');
      assert.equal(observer.blocked.length, 0, 'a connection that only declares is never blocked');
      assert.equal(pub.unblocked, 0, 'still blocked');

      // Drain: memory falls, the alarm clears, both publishers are unblocked and what they sent arrives.
      draining = true;
      holdCh.ackAll();
      held.length = 0;
      await waitFor(() => pub.unblocked === 1, 30_000, 'connection.unblocked after the held messages were acked');
      await waitFor(() => other.unblocked === 1, 10_000, 'the second publisher to be unblocked');
      await waitFor(() => received === sent, 20_000, `all ${sent} big publishes to arrive (have ${received})`);
      assert.equal(holdBodies.size, sent, 'every big publish arrived once');
      await waitForAsync(async () => (await count(obs, late)) === 21, 10_000, 'the late publishes to arrive');
      const lateBodies: string[] = [];
      for (let m = await obs.get(late, { noAck: true }); m; m = await obs.get(late, { noAck: true })) lateBodies.push(m.content.toString());
      assert.deepEqual(lateBodies.filter((b) => b.startsWith('late-')), Array.from({ length: 20 }, (_, i) => `late-${i}`), 'in publish order');
      assert.ok(lateBodies.includes('other'));

      // Unblocked for good: publishing works normally again.
      const confirmCh = await pub.conn.createConfirmChannel();
      confirmCh.sendToQueue(late, Buffer.from('after'));
      await confirmCh.waitForConfirms();
      assert.equal(pub.blocked.length, 1, 'not blocked again');
      assert.match(r.stderr, /memory alarm set/);
      assert.match(r.stderr, /memory alarm cleared/);
    } finally {
      for (const c of conns) await closeBounded(c);
      r.child.kill('SIGTERM');
      await r.exited;
    }
  });
});

// ---- disk alarm ----

describe('disk alarm', () => {
  let broker: TestBroker | undefined;
  const conns: ChannelModel[] = [];

  after(async () => {
    for (const c of conns) await closeBounded(c);
    await broker?.stop();
  });

  test('free space below the limit blocks publishers; queued messages still reach consumers; raising the free space unblocks', { timeout: 30_000 }, async () => {
    broker = await startTestBroker({ diskFreeLimit: 0, alarmIntervalMs: 100 });
    const alarms = broker.warren.broker.alarms!;
    assert.equal(alarms.diskAlarm, false);
    const q = qname('disk-queued');
    const late = qname('disk-late');

    const setup = await connectWatched(broker.url);
    conns.push(setup.conn);
    const setupCh = await setup.conn.createConfirmChannel();
    await setupCh.assertQueue(q, { durable: true });
    await setupCh.assertQueue(late, { durable: true });
    for (let i = 0; i < 20; i++) setupCh.sendToQueue(q, Buffer.from(`m${i}`), { persistent: true });
    await setupCh.waitForConfirms();

    // No disk has this much free space.
    alarms.options.diskFreeLimit = Number.MAX_SAFE_INTEGER;
    await waitFor(() => alarms.diskAlarm, 5000, 'the disk alarm');
    assert.ok(alarms.diskFree < Number.MAX_SAFE_INTEGER);

    const pub = await connectWatched(broker.url);
    conns.push(pub.conn);
    const pubCh = await pub.conn.createConfirmChannel();
    pubCh.on('error', () => {});
    // The publish that finds the alarm set may still be processed (the broker finishes the data at
    // hand, as RabbitMQ does); it is the signal to block.
    pubCh.sendToQueue(late, Buffer.from('trigger'), { persistent: true });
    await waitFor(() => pub.blocked.length === 1, 5000, "the publisher's 'blocked' event");
    assert.match(pub.blocked[0]!, /disk/, 'the reason names the disk');
    const lateBefore = await count(setupCh, late);
    assert.ok(lateBefore <= 1);
    // What is sent after connection.blocked is not read, so not confirmed either.
    let confirmed = false;
    pubCh.sendToQueue(late, Buffer.from('held'), { persistent: true }, (err) => {
      if (!err) confirmed = true;
    });

    // Consumers on another connection still get what was queued; the held publish is not processed.
    const consumer = await connectWatched(broker.url);
    conns.push(consumer.conn);
    const consCh = await openChannel(consumer.conn);
    const got: string[] = [];
    await consCh.consume(q, (m) => {
      if (!m) return;
      got.push(m.content.toString());
      consCh.ack(m);
    });
    await waitFor(() => got.length === 20, 5000, 'the queued messages');
    assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => `m${i}`));
    await sleep(500);
    assert.equal(await count(consCh, late), lateBefore, 'the publish sent while blocked waits');
    assert.equal(confirmed, false);
    assert.equal(consumer.blocked.length, 0);

    // Space "comes back": the next look clears the alarm.
    alarms.options.diskFreeLimit = 0;
    await waitFor(() => pub.unblocked === 1, 5000, "the publisher's 'unblocked' event");
    assert.equal(alarms.diskAlarm, false);
    await pubCh.waitForConfirms();
    assert.equal(confirmed, true);
    assert.equal(await count(consCh, late), 2);
  });

  test('an alarm already set at start blocks the first publish; a client without the connection.blocked capability is not read either, but not told', { timeout: 30_000 }, async () => {
    await broker?.stop();
    broker = await startTestBroker({ diskFreeLimit: Number.MAX_SAFE_INTEGER, alarmIntervalMs: 100 });
    const alarms = broker.warren.broker.alarms!;
    assert.equal(alarms.diskAlarm, true, 'set by the first look, at start');
    const q = qname('disk-start');
    const obsConn = await connectWatched(broker.url);
    conns.push(obsConn.conn);
    const obs = await openChannel(obsConn.conn);
    await obs.assertQueue(q, { durable: false });

    const capable = await connectWatched(broker.url);
    conns.push(capable.conn);
    const capableCh = await openChannel(capable.conn);
    // amqplib copies client properties shallowly: this replaces its capabilities table.
    const plain = await connectWatched(broker.url, {
      clientProperties: { capabilities: { publisher_confirms: true, 'basic.nack': true, consumer_cancel_notify: true } },
    });
    conns.push(plain.conn);
    const plainCh = await openChannel(plain.conn);
    await sleep(100);
    capableCh.sendToQueue(q, Buffer.from('capable'));
    plainCh.sendToQueue(q, Buffer.from('plain'));
    await waitFor(() => capable.blocked.length === 1, 5000, "the capable client's 'blocked' event");
    await sleep(1000);
    assert.equal(plain.blocked.length, 0, 'a client without the capability gets no connection.blocked');

    // The first publish on each connection may still be processed (the broker finishes the data
    // at hand before it stops reading); what is sent after the block waits.
    const before = await count(obs, q);
    capableCh.sendToQueue(q, Buffer.from('capable-2'));
    plainCh.sendToQueue(q, Buffer.from('plain-2'));
    await sleep(1000);
    assert.equal(await count(obs, q), before, 'publishes after the block are not read');

    alarms.options.diskFreeLimit = 0;
    await waitFor(() => capable.unblocked === 1, 5000, "the capable client's 'unblocked' event");
    await waitForAsync(async () => (await count(obs, q)) === 4, 5000, 'all four publishes');
    assert.equal(plain.unblocked, 0, 'a client never told it was blocked is not told it is unblocked');
    const bodies: string[] = [];
    for (let m = await obs.get(q, { noAck: true }); m; m = await obs.get(q, { noAck: true })) bodies.push(m.content.toString());
    assert.deepEqual(bodies.sort(), ['capable', 'capable-2', 'plain', 'plain-2']);
  });
});

describe('a blocked connection and heartbeats', () => {
  let broker: TestBroker | undefined;
  const conns: ChannelModel[] = [];

  after(async () => {
    for (const c of conns) await closeBounded(c);
    await broker?.stop();
  });

  test('a blocked publisher with a 1 s heartbeat is not dropped for missed heartbeats while the broker does not read it', { timeout: 30_000 }, async () => {
    broker = await startTestBroker({ diskFreeLimit: Number.MAX_SAFE_INTEGER, alarmIntervalMs: 100 });
    const alarms = broker.warren.broker.alarms!;
    const q = qname('hb');
    const obsConn = await connectWatched(broker.url);
    conns.push(obsConn.conn);
    const obs = await openChannel(obsConn.conn);
    await obs.assertQueue(q, { durable: false });
    const pub = await connectWatched(`${broker.url}?heartbeat=1`);
    conns.push(pub.conn);
    let closed: unknown;
    pub.conn.on('close', (err: unknown) => (closed = err ?? 'closed'));
    assert.equal((pub.conn as unknown as { connection: { heartbeat: number } }).connection.heartbeat, 1, 'a 1 s heartbeat was negotiated');
    const ch = await openChannel(pub.conn);
    ch.sendToQueue(q, Buffer.from('first'));
    await waitFor(() => pub.blocked.length === 1, 5000, "the publisher's 'blocked' event");
    ch.sendToQueue(q, Buffer.from('second'));
    await sleep(3500); // more than two heartbeat intervals unread
    assert.equal(closed, undefined, `the blocked connection is still open (${String(closed)})`);
    alarms.options.diskFreeLimit = 0;
    await waitFor(() => pub.unblocked === 1, 5000, "the publisher's 'unblocked' event");
    await waitForAsync(async () => (await count(obs, q)) === 2, 5000, 'both publishes');
    assert.equal(closed, undefined);
  });
});

// ---- configuration ----

describe('alarm configuration', () => {
  test('--memory-high-watermark abc: the CLI exits non-zero naming the option', async () => {
    const r = run(['start', '--amqp-port', '0', '--management-port', '0', '--metrics-port', '0', '--host', '127.0.0.1', '--data-dir', tempDir(), '--memory-high-watermark', 'abc'], {}, 15_000);
    const code = await r.exited;
    assert.notEqual(code, 0);
    assert.equal(code, 2, 'a configuration error');
    assert.match(r.stderr, /--memory-high-watermark: 'abc'/);
    assert.doesNotMatch(r.stdout, /Warren ready/);
  });

  test('--disk-free-limit -5: the CLI exits non-zero naming the option', async () => {
    const r = run(['start', '--amqp-port', '0', '--management-port', '0', '--metrics-port', '0', '--host', '127.0.0.1', '--data-dir', tempDir(), '--disk-free-limit', '-5'], {}, 15_000);
    const code = await r.exited;
    assert.equal(code, 2);
    assert.match(r.stderr, /--disk-free-limit: '-5'/);
    assert.doesNotMatch(r.stdout, /Warren ready/);
  });

  test('bad values from the environment and a config file name where they came from', async () => {
    const env = run(['start', '--amqp-port', '0', '--management-port', '0', '--metrics-port', '0', '--data-dir', tempDir()], { WARREN_DISK_FREE_LIMIT: '12 parsecs' }, 15_000);
    assert.equal(await env.exited, 2);
    assert.match(env.stderr, /WARREN_DISK_FREE_LIMIT: '12 parsecs'/);
    const bad: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [['--memory-high-watermark', '0'], {}, /--memory-high-watermark: '0'/],
      [['--memory-high-watermark', '-0.5'], {}, /--memory-high-watermark: '-0.5'/],
      [['--memory-high-watermark', '12 furlongs'], {}, /--memory-high-watermark/],
      [['--memory-high-watermark', ''], {}, /--memory-high-watermark: ''/],
      [['--disk-free-limit', 'lots'], {}, /--disk-free-limit: 'lots'/],
      [['--disk-free-limit', '5XB'], {}, /--disk-free-limit: '5XB'/],
      [[], { WARREN_MEMORY_HIGH_WATERMARK: 'half' }, /WARREN_MEMORY_HIGH_WATERMARK: 'half'/],
    ];
    const cfg = join(tempDir(), 'warren.json');
    writeFileSync(cfg, JSON.stringify({ 'disk-free-limit': -5 }));
    bad.push([['--config', cfg], {}, /config file .*warren\.json: disk-free-limit: '-5'/]);
    const cfg2 = join(tempDir(), 'warren.json');
    writeFileSync(cfg2, JSON.stringify({ 'memory-high-watermark': 0 }));
    bad.push([['--config', cfg2], {}, /config file .*warren\.json: memory-high-watermark: '0'/]);
    for (const [argv, e, pattern] of bad) {
      assert.throws(() => loadConfig(argv, e), (err: Error) => err instanceof ConfigError && pattern.test(err.message), `${argv.join(' ')} ${JSON.stringify(e)}`);
    }
  });

  test('good values: fractions of memory, sizes with units, plain bytes', () => {
    const cases: [string[], Partial<Record<'memoryHighWatermark' | 'diskFreeLimit', number>>][] = [
      [['--memory-high-watermark', '0.4'], { memoryHighWatermark: 0.4 }],
      [['--memory-high-watermark', '.25'], { memoryHighWatermark: 0.25 }],
      [['--memory-high-watermark', '1'], { memoryHighWatermark: 1 }],
      [['--memory-high-watermark', '512MB'], { memoryHighWatermark: 512e6 }],
      [['--memory-high-watermark', '2GiB'], { memoryHighWatermark: 2 * 1024 ** 3 }],
      [['--memory-high-watermark', '67108864'], { memoryHighWatermark: 67108864 }],
      [['--disk-free-limit', '0'], { diskFreeLimit: 0 }],
      [['--disk-free-limit', '50MB'], { diskFreeLimit: 50e6 }],
      [['--disk-free-limit', '1gib'], { diskFreeLimit: 1024 ** 3 }],
      [['--disk-free-limit=1048576'], { diskFreeLimit: 1048576 }],
    ];
    for (const [argv, want] of cases) {
      const c = loadConfig(argv, {});
      for (const [k, v] of Object.entries(want)) assert.equal(c[k as keyof typeof want], v, argv.join(' '));
    }
  });

  test('a valid --memory-high-watermark and --disk-free-limit start the broker', async () => {
    const r = run(['start', '--amqp-port', '0', '--management-port', '0', '--metrics-port', '0', '--host', '127.0.0.1', '--data-dir', tempDir(), '--memory-high-watermark', '1GB', '--disk-free-limit', '1MB'], {}, 15_000);
    await readyPort(r);
    r.child.kill('SIGTERM');
    assert.equal(await r.exited, 0);
  });
});
