/**
 * Message statistics and the Prometheus endpoint, end to end: amqplib publishes, consumes, gets
 * and acks; the test scrapes /metrics and /metrics/per-object with fetch() and checks exact
 * counter and gauge values, per-queue labels, the alarm gauges and the stats snapshot API.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import amqp from 'amqplib';
import type { ConsumeMessage } from 'amqplib';
import { Warren } from '../src/index.js';
import { collectPerObject } from '../src/metrics/collect.js';
import { startTestBroker, waitFor } from './helpers/broker.js';
import type { TestBroker } from './helpers/broker.js';
import { getOrFail } from './helpers/amqp-client.js';

let broker: TestBroker;

before(async () => {
  // Rates are sampled by hand (warren.sampler.sample()), not by the timer.
  broker = await startTestBroker({ statsIntervalMs: 3_600_000 });
});

after(async () => {
  await broker.stop();
});

async function scrape(b: TestBroker, path = '/metrics'): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`http://127.0.0.1:${b.warren.metricsPort}${path}`);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** `name{labels}` → value, for every sample line; and every metric's TYPE. */
function parse(text: string): { values: Map<string, number>; types: Map<string, string> } {
  const values = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) {
      assert.ok(!types.has(t[1]!), `TYPE of ${t[1]} given twice`);
      types.set(t[1]!, t[2]!);
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const i = line.lastIndexOf(' ');
    values.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return { values, types };
}

function expectValues(values: Map<string, number>, expected: Record<string, number>): void {
  const actual: Record<string, number | undefined> = {};
  for (const k of Object.keys(expected)) actual[k] = values.get(k);
  assert.deepEqual(actual, expected);
}

const G = '{protocol="amqp091"}';
// A queue name that needs escaping in a label value.
const QA = 'metrics "a" \\ q';
const QA_LABELS = '{vhost="/",queue="metrics \\"a\\" \\\\ q"}';

describe('Prometheus metrics and message statistics', () => {
  test('counters and gauges after publishing, consuming, getting and acking', async () => {
    const pubConn = await amqp.connect(broker.url);
    const subConn = await amqp.connect(broker.url);
    try {
      const confirm = await pubConn.createConfirmChannel();
      const plain = await pubConn.createChannel();
      const sub = await subConn.createChannel();
      await confirm.assertQueue(QA, { autoDelete: false });
      await confirm.assertQueue('metrics-b');
      await confirm.assertQueue('metrics-c');
      const returned: unknown[] = [];
      confirm.on('return', (m) => returned.push(m));

      // 9 publishes on the confirm channel: 5 to A, 2 to B, one dropped, one returned.
      for (let i = 0; i < 5; i++) confirm.sendToQueue(QA, Buffer.from(`a${i}`));
      confirm.sendToQueue('metrics-b', Buffer.from('b0'));
      confirm.sendToQueue('metrics-b', Buffer.from('b1'));
      confirm.publish('amq.direct', 'nowhere', Buffer.from('dropped'));
      confirm.publish('amq.direct', 'nowhere', Buffer.from('returned'), { mandatory: true });
      await confirm.waitForConfirms();
      // 2 publishes without confirms, to C, which a no-ack consumer takes.
      const fromC: ConsumeMessage[] = [];
      await sub.consume('metrics-c', (m) => m && fromC.push(m), { noAck: true });
      plain.sendToQueue('metrics-c', Buffer.from('c0'));
      plain.sendToQueue('metrics-c', Buffer.from('c1'));
      await waitFor(() => fromC.length === 2, 5000, 'no-ack deliveries');

      // A: 5 deliveries in manual-ack mode, the first nacked back once (a redelivery), then all acked.
      let nacked = false;
      let acked = 0;
      await sub.consume(QA, (m) => {
        if (!m) return;
        if (!nacked) {
          nacked = true;
          sub.nack(m, false, true);
          return;
        }
        sub.ack(m);
        acked++;
      });
      await waitFor(() => acked === 5, 5000, 'acks');
      // B: one basic.get without ack, one with ack.
      await getOrFail(sub, 'metrics-b', { noAck: true });
      sub.ack(await getOrFail(sub, 'metrics-b'));
      await sub.checkQueue('metrics-b'); // a round trip: the ack has been processed
      await waitFor(() => returned.length === 1, 5000, 'basic.return');

      const { values, types } = parse((await scrape(broker)).text);
      expectValues(values, {
        [`rabbitmq_global_messages_received_total${G}`]: 11,
        [`rabbitmq_global_messages_received_confirm_total${G}`]: 9,
        [`rabbitmq_global_messages_routed_total${G}`]: 9,
        [`rabbitmq_global_messages_unroutable_dropped_total${G}`]: 1,
        [`rabbitmq_global_messages_unroutable_returned_total${G}`]: 1,
        [`rabbitmq_global_messages_confirmed_total${G}`]: 9,
        [`rabbitmq_global_messages_delivered_total${G}`]: 10,
        [`rabbitmq_global_messages_delivered_consume_manual_ack_total${G}`]: 6,
        [`rabbitmq_global_messages_delivered_consume_auto_ack_total${G}`]: 2,
        [`rabbitmq_global_messages_delivered_get_manual_ack_total${G}`]: 1,
        [`rabbitmq_global_messages_delivered_get_auto_ack_total${G}`]: 1,
        [`rabbitmq_global_messages_redelivered_total${G}`]: 1,
        [`rabbitmq_global_messages_acknowledged_total${G}`]: 6,
        [`rabbitmq_global_consumers${G}`]: 2,
        rabbitmq_connections: 2,
        rabbitmq_channels: 3,
        rabbitmq_consumers: 2,
        rabbitmq_queues: 3,
        rabbitmq_queues_created_total: 3,
        rabbitmq_queue_messages_ready: 0,
        rabbitmq_queue_messages_unacked: 0,
        rabbitmq_queue_messages: 0,
        rabbitmq_queue_consumers: 2,
        rabbitmq_queue_messages_published_total: 9,
        rabbitmq_queue_messages_delivered_ack_total: 6,
        rabbitmq_queue_messages_delivered_total: 2,
        rabbitmq_queue_get_ack_total: 1,
        rabbitmq_queue_get_total: 1,
        rabbitmq_queue_messages_redelivered_total: 1,
        rabbitmq_queue_messages_acked_total: 6,
        rabbitmq_alarms_memory_used_watermark: 0,
        rabbitmq_alarms_free_disk_space_watermark: 0,
      });
      assert.equal(types.get('rabbitmq_global_messages_received_total'), 'counter');
      assert.equal(types.get('rabbitmq_queue_messages_ready'), 'gauge');
      assert.equal(types.get('rabbitmq_connections'), 'gauge');
      assert.ok(values.get('rabbitmq_process_resident_memory_bytes')! > 0);
      assert.ok(values.get('rabbitmq_disk_space_available_bytes')! > 0);
      assert.ok(values.get('rabbitmq_connection_incoming_bytes_total')! > 0);
      // The aggregated endpoint has no per-queue series.
      assert.ok(![...values.keys()].some((k) => k.includes('queue="')));

      // Per object: one series per queue, labelled {vhost, queue}, label values escaped.
      const per = parse((await scrape(broker, '/metrics/per-object')).text).values;
      expectValues(per, {
        [`rabbitmq_queue_messages_published_total${QA_LABELS}`]: 5,
        [`rabbitmq_queue_messages_delivered_ack_total${QA_LABELS}`]: 6,
        [`rabbitmq_queue_messages_redelivered_total${QA_LABELS}`]: 1,
        [`rabbitmq_queue_messages_acked_total${QA_LABELS}`]: 5,
        [`rabbitmq_queue_consumers${QA_LABELS}`]: 1,
        [`rabbitmq_queue_messages_ready${QA_LABELS}`]: 0,
        'rabbitmq_queue_messages_published_total{vhost="/",queue="metrics-b"}': 2,
        'rabbitmq_queue_get_total{vhost="/",queue="metrics-b"}': 1,
        'rabbitmq_queue_get_ack_total{vhost="/",queue="metrics-b"}': 1,
        'rabbitmq_queue_messages_acked_total{vhost="/",queue="metrics-b"}': 1,
        'rabbitmq_queue_messages_delivered_total{vhost="/",queue="metrics-c"}': 2,
        'rabbitmq_queue_consumers{vhost="/",queue="metrics-c"}': 1,
        [`rabbitmq_global_messages_received_total${G}`]: 11,
      });

      // The snapshot API the management API reads: the same numbers, under RabbitMQ's field names.
      const stats = broker.warren.broker.stats;
      broker.warren.sampler.sample();
      const overview = stats.overview();
      assert.equal(overview.message_stats.publish_in, 11);
      assert.equal(overview.message_stats.publish, 9);
      assert.equal(overview.message_stats.confirm, 9);
      assert.equal(overview.message_stats.return_unroutable, 1);
      assert.equal(overview.message_stats.drop_unroutable, 1);
      assert.equal(overview.message_stats.deliver_get, 10);
      assert.equal(overview.message_stats.ack, 6);
      assert.equal(typeof (overview.message_stats.ack_details as { rate: number }).rate, 'number');
      assert.deepEqual(overview.object_totals, { connections: 2, channels: 3, queues: 3, consumers: 2, exchanges: 7 }); // the predeclared ones, amq.rabbitmq.trace included
      const qa = stats.queue(broker.warren.broker.getVhost('/')!.queues.get(QA)!);
      assert.deepEqual([qa.publish, qa.deliver, qa.deliver_no_ack, qa.get, qa.get_no_ack, qa.redeliver, qa.ack], [5, 6, 0, 0, 0, 1, 5]);
      assert.equal(stats.vhost('/')!.publish_in, 11);
      const channels = [...stats.connections].flatMap((c) => [...c.channels]).map((ch) => stats.channel(ch));
      assert.deepEqual(channels.map((c) => [c.publish, c.confirm, c.deliver, c.deliver_no_ack, c.ack]).sort(),
        [[0, 0, 6, 2, 6], [2, 0, 0, 0, 0], [9, 9, 0, 0, 0]]);
      const bytes = [...stats.connections].map((c) => stats.connection(c));
      assert.ok(bytes.every((c) => c.recv_oct > 0 && c.send_oct > 0 && typeof c.recv_oct_details.rate === 'number'));
    } finally {
      await pubConn.close();
      await subConn.close();
    }
    // Closed connections and channels leave the gauges and count as closed.
    await waitFor(() => broker.warren.broker.stats.connections.size === 0, 5000, 'connections gone');
    const { values } = parse((await scrape(broker)).text);
    expectValues(values, {
      rabbitmq_connections: 0, rabbitmq_connections_opened_total: 2, rabbitmq_connections_closed_total: 2,
      rabbitmq_channels: 0, rabbitmq_channels_opened_total: 3, rabbitmq_channels_closed_total: 3, rabbitmq_consumers: 0,
    });
  });

  test('a deleted queue leaves the per-object output; the aggregated counters keep its counts', async () => {
    const conn = await amqp.connect(broker.url);
    try {
      const ch = await conn.createConfirmChannel();
      const before = parse((await scrape(broker)).text).values.get('rabbitmq_queue_messages_published_total')!;
      await ch.assertQueue('metrics-gone');
      ch.sendToQueue('metrics-gone', Buffer.from('x'));
      await ch.waitForConfirms();
      await ch.deleteQueue('metrics-gone');
      const agg = parse((await scrape(broker)).text).values;
      assert.equal(agg.get('rabbitmq_queue_messages_published_total'), before + 1);
      const per = (await scrape(broker, '/metrics/per-object')).text;
      assert.ok(!per.includes('metrics-gone'));
    } finally {
      await conn.close();
    }
  });

  test('per-object output in chunks is the same exposition, each metric\'s HELP/TYPE once', async () => {
    const vhost = broker.warren.broker.getVhost('/')!;
    for (let i = 0; i < 5; i++) vhost.declareQueue(`metrics-chunk-${i}`, { durable: false, exclusive: false, autoDelete: false, arguments: {} }, false, null);
    try {
      const chunks = [...collectPerObject(broker.warren.broker, 2)];
      const whole = [...collectPerObject(broker.warren.broker, 1000)].join('');
      assert.ok(chunks.length > 12, `${chunks.length} chunks`);
      // Process gauges (RSS, free disk) move between the two collections; everything else must match.
      const steady = (text: string): string => text.replace(/^rabbitmq_(process_resident_memory_bytes|disk_space_available_bytes) .*$/gm, '');
      assert.equal(steady(chunks.join('')), steady(whole));
      const { values } = parse(whole); // parse() fails on a TYPE given twice
      for (let i = 0; i < 5; i++) assert.equal(values.get(`rabbitmq_queue_messages_ready{vhost="/",queue="metrics-chunk-${i}"}`), 0);
      const served = await scrape(broker, '/metrics/per-object');
      assert.equal(served.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
      assert.equal(parse(served.text).values.get('rabbitmq_queue_consumers{vhost="/",queue="metrics-chunk-4"}'), 0);
    } finally {
      for (let i = 0; i < 5; i++) vhost.deleteQueue(`metrics-chunk-${i}`, false, false, null);
    }
  });

  test('content type, gzip when accepted, 404 elsewhere, 405 for other methods', async () => {
    const res = await scrape(broker);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(res.text, /^# HELP rabbitmq_identity_info /);
    // fetch() asks for gzip and decodes it; a plain client gets plain text.
    const gz = await fetch(`http://127.0.0.1:${broker.warren.metricsPort}/metrics`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gz.headers.get('content-encoding'), 'gzip');
    await gz.text();
    const plainText = await new Promise<string>((resolve, reject) => {
      httpGet(`http://127.0.0.1:${broker.warren.metricsPort}/metrics`, (r) => {
        assert.equal(r.headers['content-encoding'], undefined);
        let s = '';
        r.setEncoding('utf8').on('data', (d: string) => (s += d)).on('end', () => resolve(s));
      }).on('error', reject);
    });
    assert.match(plainText, /\nrabbitmq_queues \d+\n/);
    for (const path of ['/', '/metric', '/metrics/', '/api/overview', '/metrics/detailed']) {
      const r = await scrape(broker, path);
      assert.equal(r.status, 404, path);
    }
    const post = await fetch(`http://127.0.0.1:${broker.warren.metricsPort}/metrics`, { method: 'POST' });
    assert.equal(post.status, 405);
    await post.text();
  });

  test('alarm gauges show a memory and a disk alarm; the endpoint stops with the broker', async () => {
    // A 2 MiB memory watermark and an unreachable free-disk limit: both alarms are on at start.
    const alarmed = await startTestBroker({ memoryHighWatermark: 2 * 1024 * 1024, diskFreeLimit: 1e18 });
    const port = alarmed.warren.metricsPort;
    try {
      const { values } = parse((await scrape(alarmed)).text);
      expectValues(values, {
        rabbitmq_alarms_memory_used_watermark: 1,
        rabbitmq_alarms_free_disk_space_watermark: 1,
        rabbitmq_resident_memory_limit_bytes: 2 * 1024 * 1024,
        rabbitmq_disk_space_available_limit_bytes: 1e18,
      });
    } finally {
      await alarmed.stop();
    }
    await assert.rejects(fetch(`http://127.0.0.1:${port}/metrics`));
  });

  test('a metrics port in use stops start-up with a message naming the port', async () => {
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', () => res()));
    const port = (blocker.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'warren-test-'));
    try {
      await assert.rejects(Warren.start({ amqpPort: 0, metricsPort: port, host: '127.0.0.1', dataDir: dir }),
        new RegExp(`metrics port 127\\.0\\.0\\.1:${port} is already in use`));
    } finally {
      blocker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
