import { hostname } from 'node:os';
import type { Broker } from '../core/broker.js';
import type { Queue } from '../core/queue/queue.js';
import type { MessageTotals } from '../core/stats/counters.js';
import { ExpositionWriter, formatLabels } from './exposition.js';

/**
 * The Prometheus metrics of a broker, under RabbitMQ's names (rabbitmq_prometheus) where Warren
 * has the counterpart, so queries and alerts written for RabbitMQ carry over. Two shapes, as RabbitMQ:
 *
 * - aggregated (`/metrics`): queue metrics summed over all queues, no per-object labels; the
 *   output has a constant size whatever the number of queues;
 * - per object (`/metrics/per-object`): the queue metrics once per queue, labelled {vhost, queue};
 *   produced in chunks (collectPerObject), so a scrape of 10k queues (megabytes) does not hold
 *   the event loop, and AMQP traffic, for its whole duration.
 *
 * Reads the core only (broker, vhosts, queues, stats registry), never a protocol front-end.
 */
export function collectMetrics(broker: Broker, perObject: boolean): string {
  if (perObject) return [...collectPerObject(broker)].join('');
  const w = new ExpositionWriter();
  writeQueuesAggregated(w, broker, writeCommon(w, broker));
  return w.toString();
}

/** Queues per chunk of per-object output: about 70 KB of text, well under a millisecond to build. */
const CHUNK_QUEUES = 1000;

/**
 * The per-object exposition in chunks: everything but the queue series first, then each queue
 * metric in runs of `chunkQueues` queues. The queue list is taken at the start: a queue deleted
 * meanwhile still reports its last values, one declared meanwhile waits for the next scrape.
 */
export function* collectPerObject(broker: Broker, chunkQueues = CHUNK_QUEUES): Generator<string, void, undefined> {
  const head = new ExpositionWriter();
  writeCommon(head, broker);
  yield head.toString();
  const queues: Queue[] = [];
  const vhosts: string[] = [];
  for (const v of broker.vhosts.values()) {
    for (const q of v.queues.values()) {
      queues.push(q);
      vhosts.push(v.name);
    }
  }
  // Labels formatted once per queue and scrape (during the first metric), then reused.
  const labels = new Array<string>(queues.length);
  for (let m = 0; m < QUEUE_METRICS.length; m++) {
    const [name, type, help, read] = QUEUE_METRICS[m]!;
    for (let start = 0; start === 0 || start < queues.length; start += chunkQueues) {
      const w = new ExpositionWriter();
      if (start === 0) w.metric(name, type, help);
      else w.resume(name);
      const end = Math.min(queues.length, start + chunkQueues);
      for (let i = start; i < end; i++) {
        if (m === 0) labels[i] = formatLabels({ vhost: vhosts[i]!, queue: queues[i]!.name });
        w.sample(labels[i]!, read(queues[i]!));
      }
      yield w.toString();
    }
  }
}

/** Everything but the queue metrics; returns the broker-wide totals it computed. */
function writeCommon(w: ExpositionWriter, broker: Broker): MessageTotals {
  const stats = broker.stats;
  writeIdentity(w);

  let queueCount = 0;
  let consumers = 0;
  for (const v of broker.vhosts.values()) {
    queueCount += v.queues.size;
    for (const q of v.queues.values()) consumers += q.consumerCount;
  }
  w.single('rabbitmq_connections', 'gauge', 'Connections currently open', stats.connections.size);
  w.single('rabbitmq_connections_opened_total', 'counter', 'Total number of connections opened', stats.connectionsOpened);
  w.single('rabbitmq_connections_closed_total', 'counter', 'Total number of connections closed or terminated', stats.connectionsClosed);
  w.single('rabbitmq_channels', 'gauge', 'Channels currently open', stats.channelCount);
  w.single('rabbitmq_channels_opened_total', 'counter', 'Total number of channels opened', stats.channelsOpened);
  w.single('rabbitmq_channels_closed_total', 'counter', 'Total number of channels closed', stats.channelsClosed);
  w.single('rabbitmq_queues', 'gauge', 'Queues available', queueCount);
  let created = 0;
  let deleted = 0;
  for (const v of broker.vhosts.values()) {
    created += v.stats.queuesCreated;
    deleted += v.stats.queuesDeleted;
  }
  w.single('rabbitmq_queues_created_total', 'counter', 'Total number of queues created', created);
  w.single('rabbitmq_queues_deleted_total', 'counter', 'Total number of queues deleted', deleted);
  w.single('rabbitmq_consumers', 'gauge', 'Consumers currently connected', consumers);
  const bytes = stats.bytes();
  w.single('rabbitmq_connection_incoming_bytes_total', 'counter', 'Total number of bytes received on connections', bytes.recvOct);
  w.single('rabbitmq_connection_outgoing_bytes_total', 'counter', 'Total number of bytes sent on connections', bytes.sendOct);

  const totals = stats.totals();
  writeGlobalCounters(w, totals, consumers);
  writeNode(w, broker);
  return totals;
}

/** RabbitMQ's global counters carry the protocol as a label. */
const AMQP091 = formatLabels({ protocol: 'amqp091' });

function writeGlobalCounters(w: ExpositionWriter, t: MessageTotals, consumers: number): void {
  const counter = (name: string, help: string, value: number) => w.metric(`rabbitmq_global_${name}`, 'counter', help).sample(AMQP091, value);
  counter('messages_received_total', 'Total number of messages received from clients', t.publishIn);
  counter('messages_received_confirm_total', 'Total number of messages received from publishers expecting confirmations', t.publishInConfirm);
  counter('messages_routed_total', 'Total number of messages routed to queues', t.routed);
  counter('messages_unroutable_dropped_total', 'Total number of messages published as non-mandatory into an exchange and dropped as unroutable', t.dropUnroutable);
  counter('messages_unroutable_returned_total', 'Total number of messages published as mandatory into an exchange and returned to the publisher as unroutable', t.returnUnroutable);
  counter('messages_confirmed_total', 'Total number of messages confirmed to publishers', t.confirm);
  counter('messages_delivered_total', 'Total number of messages delivered to clients', t.deliver + t.deliverNoAck + t.get + t.getNoAck);
  counter('messages_delivered_consume_manual_ack_total', 'Total number of messages delivered to consumers using manual acknowledgement mode', t.deliver);
  counter('messages_delivered_consume_auto_ack_total', 'Total number of messages delivered to consumers using automatic acknowledgement mode', t.deliverNoAck);
  counter('messages_delivered_get_manual_ack_total', 'Total number of messages delivered with basic.get using manual acknowledgement mode', t.get);
  counter('messages_delivered_get_auto_ack_total', 'Total number of messages delivered with basic.get using automatic acknowledgement mode', t.getNoAck);
  counter('messages_redelivered_total', 'Total number of messages redelivered to clients', t.redeliver);
  counter('messages_acknowledged_total', 'Total number of messages acknowledged by consumers', t.ack);
  w.metric('rabbitmq_global_consumers', 'gauge', 'Current number of consumers').sample(AMQP091, consumers);
}

function writeNode(w: ExpositionWriter, broker: Broker): void {
  const alarms = broker.alarms;
  w.single('rabbitmq_alarms_memory_used_watermark', 'gauge', 'Is set when the memory high watermark is reached (publishers are blocked)', alarms?.memoryAlarm ? 1 : 0);
  w.single('rabbitmq_alarms_free_disk_space_watermark', 'gauge', 'Is set when the free disk space limit is reached (publishers are blocked)', alarms?.diskAlarm ? 1 : 0);
  w.single('rabbitmq_alarms_file_descriptor_limit', 'gauge', 'Is set when the file descriptor limit is reached (never, in Warren)', 0);
  w.single('rabbitmq_process_resident_memory_bytes', 'gauge', 'Memory used in bytes (resident set size)', process.memoryUsage.rss());
  if (alarms) {
    w.single('rabbitmq_resident_memory_limit_bytes', 'gauge', 'Memory high watermark in bytes', alarms.options.memoryHighWatermark);
    w.single('rabbitmq_disk_space_available_bytes', 'gauge', 'Disk space available in bytes', alarms.diskFree);
    w.single('rabbitmq_disk_space_available_limit_bytes', 'gauge', 'Free disk space low watermark in bytes', alarms.options.diskFreeLimit);
  }
}

/** Per-queue gauges and counters: [name, type, help, read]. */
const QUEUE_METRICS: [string, 'gauge' | 'counter', string, (q: Queue) => number][] = [
  ['rabbitmq_queue_messages_ready', 'gauge', 'Messages ready to be delivered to consumers', (q) => q.messageCount],
  ['rabbitmq_queue_messages_unacked', 'gauge', 'Messages delivered to consumers but not yet acknowledged', (q) => q.unackedCount],
  ['rabbitmq_queue_messages', 'gauge', 'Sum of ready and unacknowledged messages - total queue depth', (q) => q.messageCount + q.unackedCount],
  ['rabbitmq_queue_messages_ready_bytes', 'gauge', 'Size in bytes of ready messages', (q) => q.store.readyBytes],
  ['rabbitmq_queue_consumers', 'gauge', 'Consumers on a queue', (q) => q.consumerCount],
  ['rabbitmq_queue_messages_published_total', 'counter', 'Total number of messages published to queues', (q) => q.stats.publish],
  ['rabbitmq_queue_messages_delivered_ack_total', 'counter', 'Total number of messages delivered from a queue to consumers in manual acknowledgement mode', (q) => q.stats.deliver],
  ['rabbitmq_queue_messages_delivered_total', 'counter', 'Total number of messages delivered from a queue to consumers in automatic acknowledgement mode', (q) => q.stats.deliverNoAck],
  ['rabbitmq_queue_get_ack_total', 'counter', 'Total number of messages fetched from a queue with basic.get in manual acknowledgement mode', (q) => q.stats.get],
  ['rabbitmq_queue_get_total', 'counter', 'Total number of messages fetched from a queue with basic.get in automatic acknowledgement mode', (q) => q.stats.getNoAck],
  ['rabbitmq_queue_messages_redelivered_total', 'counter', 'Total number of messages redelivered from a queue to consumers', (q) => q.stats.redeliver],
  ['rabbitmq_queue_messages_acked_total', 'counter', 'Total number of messages acknowledged by consumers on a queue', (q) => q.stats.ack],
];

/**
 * Summed over all queues. The counters include deleted queues (the vhosts keep their counts), so
 * they never go backwards when a queue goes, which a sum over live queues would.
 */
function writeQueuesAggregated(w: ExpositionWriter, broker: Broker, t: MessageTotals): void {
  const counters: Record<string, number> = {
    rabbitmq_queue_messages_published_total: t.publish,
    rabbitmq_queue_messages_delivered_ack_total: t.deliver,
    rabbitmq_queue_messages_delivered_total: t.deliverNoAck,
    rabbitmq_queue_get_ack_total: t.get,
    rabbitmq_queue_get_total: t.getNoAck,
    rabbitmq_queue_messages_redelivered_total: t.redeliver,
    rabbitmq_queue_messages_acked_total: t.ack,
  };
  for (const [name, type, help, read] of QUEUE_METRICS) {
    let sum = 0;
    if (type === 'counter') sum = counters[name]!;
    else for (const v of broker.vhosts.values()) for (const q of v.queues.values()) sum += read(q);
    w.single(name, type, help, sum);
  }
}

const NODE = `warren@${hostname()}`;

function writeIdentity(w: ExpositionWriter): void {
  w.metric('rabbitmq_identity_info', 'untyped', 'RabbitMQ node & cluster identity info')
    .sample(formatLabels({ rabbitmq_node: NODE, rabbitmq_cluster: NODE }), 1);
}
