import type { Queue } from '../queue/queue.js';
import type { VirtualHost } from '../vhost.js';
import type { Field, MessageTotals } from './counters.js';
import {
  addQueueStats, addVhostStats, CHANNEL_FIELDS, ChannelStats, CONNECTION_FIELDS, ConnectionStats, emptyTotals,
  QUEUE_FIELDS, TOTAL_FIELDS,
} from './counters.js';
import type { History, RateDetails } from './history.js';

/** RabbitMQ's message_stats object: every counter under its RabbitMQ name, with `<name>_details`. */
export type MessageStatsSnapshot = Record<string, number | RateDetails>;

export interface SnapshotOptions {
  /** Include `samples` (newest first) in every `_details`, for charts. Default false: only `rate`. */
  samples?: boolean;
}

/** What /api/overview shows besides message_stats. */
export interface OverviewSnapshot {
  message_stats: MessageStatsSnapshot;
  object_totals: { connections: number; channels: number; queues: number; consumers: number; exchanges: number };
  queue_totals: { messages: number; messages_ready: number; messages_unacknowledged: number };
  churn_rates: {
    connection_created: number; connection_closed: number; channel_created: number; channel_closed: number;
    queue_created: number; queue_deleted: number;
  };
}

export interface ConnectionStatsSnapshot {
  recv_oct: number;
  recv_oct_details: RateDetails;
  send_oct: number;
  send_oct_details: RateDetails;
}

/**
 * The broker's statistics: the registry of live connections (front-ends register theirs, so the
 * core, the metrics and the management API can see them without importing a protocol), churn
 * counters, and the read API the management API and the Prometheus endpoint use. Reading is
 * O(queues) for totals; nothing here runs per message.
 */
export class BrokerStats {
  readonly #vhosts: ReadonlyMap<string, VirtualHost>;
  readonly connections = new Set<ConnectionStats>();
  connectionsOpened = 0;
  connectionsClosed = 0;
  channelsOpened = 0;
  channelsClosed = 0;
  /** Bytes of connections that have closed, so broker-wide byte counters never go backwards. */
  closedRecvOct = 0;
  closedSendOct = 0;
  /** Broker-wide totals, sampled (set by the sampler). */
  history: History | null = null;

  constructor(vhosts: ReadonlyMap<string, VirtualHost>) {
    this.#vhosts = vhosts;
  }

  // ---- registry (called by protocol front-ends, once per connection or channel, never per message) ----

  connectionOpened(socket: { readonly bytesRead: number; readonly bytesWritten: number }): ConnectionStats {
    const c = new ConnectionStats(socket);
    this.connections.add(c);
    this.connectionsOpened++;
    return c;
  }

  connectionClosed(c: ConnectionStats): void {
    if (!this.connections.delete(c)) return;
    this.connectionsClosed++;
    this.closedRecvOct += c.recvOct;
    this.closedSendOct += c.sendOct;
    for (const ch of [...c.channels]) this.channelClosed(c, ch);
  }

  channelOpened(c: ConnectionStats): ChannelStats {
    const ch = new ChannelStats();
    c.channels.add(ch);
    c.channelsOpened++;
    this.channelsOpened++;
    return ch;
  }

  /** Idempotent: a channel can be released twice (close, then its connection's close). */
  channelClosed(c: ConnectionStats, ch: ChannelStats): void {
    if (c.channels.delete(ch)) this.channelsClosed++;
  }

  get channelCount(): number {
    let n = 0;
    for (const c of this.connections) n += c.channels.size;
    return n;
  }

  // ---- raw totals (exact, current) ----

  /** One vhost's totals: its queues' counters summed, plus its deleted queues' and its own. */
  vhostTotals(vhost: VirtualHost, out: MessageTotals = emptyTotals()): MessageTotals {
    for (const q of vhost.queues.values()) addQueueStats(out, q.stats);
    addVhostStats(out, vhost.stats);
    return out;
  }

  /** Broker-wide totals. */
  totals(): MessageTotals {
    const out = emptyTotals();
    for (const v of this.#vhosts.values()) this.vhostTotals(v, out);
    return out;
  }

  /** Bytes received and sent by every connection, open or closed. */
  bytes(): { recvOct: number; sendOct: number } {
    let recvOct = this.closedRecvOct;
    let sendOct = this.closedSendOct;
    for (const c of this.connections) {
      recvOct += c.recvOct;
      sendOct += c.sendOct;
    }
    return { recvOct, sendOct };
  }

  // ---- snapshots for the management API (RabbitMQ's field names) ----

  /** /api/overview: broker-wide message_stats, object and queue totals. */
  overview(options: SnapshotOptions = {}): OverviewSnapshot {
    let queues = 0, consumers = 0, exchanges = 0, ready = 0, unacked = 0;
    for (const v of this.#vhosts.values()) {
      exchanges += v.exchanges.size;
      for (const q of v.queues.values()) {
        queues++;
        consumers += q.consumerCount;
        ready += q.messageCount;
        unacked += q.unackedCount;
      }
    }
    return {
      message_stats: messageStats(TOTAL_FIELDS, this.totals(), this.history, options, true),
      object_totals: { connections: this.connections.size, channels: this.channelCount, queues, consumers, exchanges },
      queue_totals: { messages: ready + unacked, messages_ready: ready, messages_unacknowledged: unacked },
      churn_rates: {
        connection_created: this.connectionsOpened, connection_closed: this.connectionsClosed,
        channel_created: this.channelsOpened, channel_closed: this.channelsClosed,
        queue_created: this.#sumVhosts('queuesCreated'), queue_deleted: this.#sumVhosts('queuesDeleted'),
      },
    };
  }

  /** /api/vhosts/{name}: the vhost's message_stats; undefined when there is no such vhost. */
  vhost(name: string, options: SnapshotOptions = {}): MessageStatsSnapshot | undefined {
    const v = this.#vhosts.get(name);
    if (!v) return undefined;
    return messageStats(TOTAL_FIELDS, this.vhostTotals(v), v.stats.history, options, true);
  }

  /** /api/queues/{vhost}/{name}: the queue's message_stats. */
  queue(q: Queue, options: SnapshotOptions = {}): MessageStatsSnapshot {
    return messageStats(QUEUE_FIELDS, q.stats, q.stats.history, options, true);
  }

  /** /api/channels/{name}: the channel's message_stats. */
  channel(ch: ChannelStats, options: SnapshotOptions = {}): MessageStatsSnapshot {
    return messageStats(CHANNEL_FIELDS, ch, ch.history, options, true);
  }

  /** /api/connections/{name}: bytes received and sent, with rates. */
  connection(c: ConnectionStats, options: SnapshotOptions = {}): ConnectionStatsSnapshot {
    return messageStats(CONNECTION_FIELDS, c, c.history, options, false) as unknown as ConnectionStatsSnapshot;
  }

  #sumVhosts(key: 'queuesCreated' | 'queuesDeleted'): number {
    let n = 0;
    for (const v of this.#vhosts.values()) n += v.stats[key];
    return n;
  }
}

/**
 * Counters under their RabbitMQ names, each with `_details` (rate from the history; 0 before two
 * samples). With `deliverGet`, RabbitMQ's derived deliver_get (all four ways out) is added.
 */
function messageStats<T>(fields: readonly Field<T>[], source: T, history: History | null,
  options: SnapshotOptions, deliverGet: boolean): MessageStatsSnapshot {
  const withSamples = options.samples === true;
  const out: MessageStatsSnapshot = {};
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    out[f.name] = source[f.key] as number;
    out[`${f.name}_details`] = history ? history.details(i, withSamples) : (withSamples ? { rate: 0, samples: [] } : { rate: 0 });
  }
  if (deliverGet && 'deliver' in out) {
    const dg = (out.deliver as number) + (out.deliver_no_ack as number) + (out.get as number) + (out.get_no_ack as number);
    out.deliver_get = dg;
    out.deliver_get_details = { rate: sumRates(out, ['deliver', 'deliver_no_ack', 'get', 'get_no_ack']) };
  }
  return out;
}

function sumRates(out: MessageStatsSnapshot, names: string[]): number {
  let r = 0;
  for (const n of names) r += (out[`${n}_details`] as RateDetails).rate;
  return Math.round(r * 10) / 10;
}
