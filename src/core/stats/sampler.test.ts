import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryQueueStore } from '../../store/memory/memory-queue-store.js';
import { Message } from '../message.js';
import type { VhostHost } from '../vhost.js';
import { VirtualHost } from '../vhost.js';
import { BrokerStats } from './broker-stats.js';
import { History } from './history.js';
import { StatsSampler } from './sampler.js';

const host: VhostHost = {
  createQueueStore: () => new MemoryQueueStore(),
  openDedupJournal: () => { throw new Error('not in this test'); },
  openDelayStore: () => { throw new Error('not in this test'); },
  definitionsChanged: () => {},
  topologyChanged: () => {},
};

/** A broker's stats over real vhosts and queues, with a clock the test moves. */
function setup(options: { historyLength?: number; objectHistoryLength?: number } = {}) {
  const vhosts = new Map([['/', new VirtualHost('/', host)], ['other', new VirtualHost('other', host)]]);
  const stats = new BrokerStats(vhosts);
  let now = 1_000_000;
  const sampler = new StatsSampler(stats, vhosts, { intervalMs: 0, now: () => now, ...options });
  const clock = { advance(ms: number) { now += ms; } };
  return { vhosts, stats, sampler, clock, vhost: vhosts.get('/')! };
}

function publish(vhost: VirtualHost, queue: string, n: number): void {
  const q = vhost.queues.get(queue)!;
  for (let i = 0; i < n; i++) q.enqueue(new Message('', queue, Buffer.alloc(2), Buffer.from('x')));
}

const QUEUE_OPTS = { durable: false, exclusive: false, autoDelete: false, arguments: {} };

describe('History', () => {
  test('rate is per second between the two newest samples; 0 before two, and for a counter that went down', () => {
    const h = new History(1, 3);
    h.next(0);
    h.set(0, 10);
    assert.equal(h.rate(0), 0);
    h.next(5000);
    h.set(0, 60);
    assert.equal(h.rate(0), 10);
    h.next(7000);
    h.set(0, 50);
    assert.equal(h.rate(0), 0);
  });

  test('keeps the last `length` samples, newest first', () => {
    const h = new History(2, 3);
    for (let i = 1; i <= 5; i++) {
      h.next(i * 1000);
      h.set(0, i);
      h.set(1, i * 100);
    }
    assert.equal(h.count, 3);
    assert.deepEqual(h.samples(0), [{ timestamp: 5000, sample: 5 }, { timestamp: 4000, sample: 4 }, { timestamp: 3000, sample: 3 }]);
    assert.deepEqual(h.samples(1).map((s) => s.sample), [500, 400, 300]);
    assert.deepEqual(h.details(1, false), { rate: 100 });
  });
});

describe('StatsSampler and BrokerStats', () => {
  test('queue counters, vhost and broker totals, and their rates from an injected clock', () => {
    const { stats, sampler, clock, vhost, vhosts } = setup();
    vhost.declareQueue('a', QUEUE_OPTS, false, null);
    vhost.declareQueue('b', QUEUE_OPTS, false, null);
    vhosts.get('other')!.declareQueue('c', QUEUE_OPTS, false, null);
    sampler.sample();
    publish(vhost, 'a', 10);
    publish(vhost, 'b', 5);
    publish(vhosts.get('other')!, 'c', 1);
    vhost.stats.publishIn += 15; // what a channel counts
    clock.advance(5000);
    sampler.sample();

    const a = stats.queue(vhost.queues.get('a')!);
    assert.equal(a.publish, 10);
    assert.deepEqual(a.publish_details, { rate: 2 });
    assert.equal(a.deliver_get, 0);
    const v = stats.vhost('/')!;
    assert.equal(v.publish, 15);
    assert.deepEqual(v.publish_details, { rate: 3 });
    assert.equal(v.publish_in, 15);
    assert.equal(stats.vhost('nope'), undefined);
    const o = stats.overview();
    assert.equal(o.message_stats.publish, 16);
    assert.deepEqual(o.message_stats.publish_details, { rate: 3.2 });
    assert.deepEqual(o.object_totals, { connections: 0, channels: 0, queues: 3, consumers: 0, exchanges: 14 }); // two vhosts, 7 predeclared exchanges each (amq.rabbitmq.trace included)
    assert.deepEqual(o.queue_totals, { messages: 16, messages_ready: 16, messages_unacknowledged: 0 });
    assert.equal(o.churn_rates.queue_created, 3);
  });

  test('a deleted queue keeps its counts in the totals, so they never go backwards', () => {
    const { stats, sampler, clock, vhost } = setup();
    vhost.declareQueue('gone', QUEUE_OPTS, false, null);
    publish(vhost, 'gone', 4);
    sampler.sample();
    vhost.deleteQueue('gone', false, false, null);
    clock.advance(1000);
    sampler.sample();
    assert.equal(stats.totals().publish, 4);
    assert.equal(stats.overview().message_stats.publish, 4);
    assert.deepEqual(stats.overview().message_stats.publish_details, { rate: 0 });
    assert.equal(stats.overview().churn_rates.queue_deleted, 1);
  });

  test('samples on request, newest first; objects keep a shorter history than the overview', () => {
    const { stats, sampler, clock, vhost } = setup({ historyLength: 4, objectHistoryLength: 2 });
    vhost.declareQueue('a', QUEUE_OPTS, false, null);
    for (let i = 0; i < 5; i++) {
      publish(vhost, 'a', 1);
      sampler.sample();
      clock.advance(1000);
    }
    const q = stats.queue(vhost.queues.get('a')!, { samples: true });
    assert.deepEqual(q.publish_details, { rate: 1, samples: [{ timestamp: 1_004_000, sample: 5 }, { timestamp: 1_003_000, sample: 4 }] });
    const o = stats.overview({ samples: true }).message_stats.publish_details as { samples: unknown[] };
    assert.equal(o.samples.length, 4);
  });

  test('connections and channels: registered once, bytes read from the socket, closing is idempotent', () => {
    const { stats, sampler, clock } = setup();
    const socket = { bytesRead: 100, bytesWritten: 50 };
    const conn = stats.connectionOpened(socket);
    const ch = stats.channelOpened(conn);
    sampler.sample();
    socket.bytesRead = 600;
    ch.publish = 20;
    clock.advance(5000);
    sampler.sample();
    assert.deepEqual(stats.connection(conn), { recv_oct: 600, recv_oct_details: { rate: 100 }, send_oct: 50, send_oct_details: { rate: 0 } });
    assert.equal(stats.channel(ch).publish, 20);
    assert.deepEqual(stats.channel(ch).publish_details, { rate: 4 });
    assert.equal(stats.channelCount, 1);
    stats.channelClosed(conn, ch);
    stats.channelClosed(conn, ch);
    assert.equal(stats.channelsClosed, 1);
    stats.connectionClosed(conn);
    stats.connectionClosed(conn);
    assert.equal(stats.connectionsClosed, 1);
    assert.deepEqual(stats.bytes(), { recvOct: 600, sendOct: 50 });
  });

  test('start() samples once and arms one unref\'d timer; stop() clears it', async () => {
    const { stats, vhosts } = setup();
    const sampler = new StatsSampler(stats, vhosts, { intervalMs: 10 });
    sampler.start();
    assert.equal(stats.history?.count, 1);
    await new Promise((r) => setTimeout(r, 50));
    sampler.stop();
    const n = stats.history!.count;
    assert.ok(n >= 2, `sampled ${n} times`);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(stats.history!.count, n);
  });
});
