import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Hono } from 'hono';
import { VERSION } from '../../protocol/amqp/handshake.js';
import type { ApiContext, ApiEnv } from '../api-context.js';
import { notFound } from '../errors.js';
import type { Json } from '../json-values.js';
import { visibleConnections } from './connections.js';

/**
 * The RabbitMQ management API version whose paths and fields Warren follows. Tools read
 * rabbitmq_version to decide what the server supports; product_name/product_version say what it is.
 */
export const API_COMPAT_VERSION = '3.13.0';

const EXCHANGE_TYPES = [
  ['direct', 'AMQP direct exchange, as per the AMQP specification'],
  ['fanout', 'AMQP fanout exchange, as per the AMQP specification'],
  ['headers', 'AMQP headers exchange, as per the AMQP specification'],
  ['topic', 'AMQP topic exchange, as per the AMQP specification'],
  ['x-delayed-message', 'Delayed message exchange'],
] as const;

/** GET /api/overview and /api/nodes[/{name}]. */
export function overviewRoutes(app: Hono<ApiEnv>, ctx: ApiContext): void {
  app.get('/api/overview', (c) => {
    const p = c.get('principal');
    const vhosts = [...ctx.broker.vhosts.values()].filter((v) => p.canSeeVhost(v.name));
    const connections = visibleConnections(ctx, p);
    const totals = { exchanges: 0, queues: 0, consumers: 0, messages: 0, ready: 0, unacked: 0 };
    for (const v of vhosts) {
      totals.exchanges += v.exchanges.size;
      for (const q of v.queues.values()) {
        totals.queues++;
        totals.consumers += q.consumerCount;
        totals.ready += q.messageCount;
        totals.unacked += q.unackedCount;
      }
    }
    const out: { [key: string]: Json } = {
      management_version: API_COMPAT_VERSION,
      rabbitmq_version: API_COMPAT_VERSION,
      product_name: 'Warren',
      product_version: VERSION,
      rates_mode: ctx.messageStats ? 'basic' : 'none',
      cluster_name: ctx.node,
      node: ctx.node,
      exchange_types: EXCHANGE_TYPES.map(([name, description]) => ({ name, description, enabled: true })),
      object_totals: {
        connections: connections.length,
        channels: connections.reduce((n, conn) => n + conn.channels.length, 0),
        exchanges: totals.exchanges,
        queues: totals.queues,
        consumers: totals.consumers,
      },
      queue_totals: { messages: totals.ready + totals.unacked, messages_ready: totals.ready, messages_unacknowledged: totals.unacked },
      listeners: ctx.listeners().map((l) => ({ node: ctx.node, protocol: l.protocol, ip_address: l.host ?? '::', port: l.port })),
      statistics_db_event_queue: 0,
    };
    const stats = ctx.messageStats?.overview();
    if (stats) out.message_stats = stats as { [key: string]: Json };
    return c.json(out);
  });

  app.get('/api/nodes', (c) => {
    c.get('principal').requireMonitor();
    return c.json([nodeJson(ctx)]);
  });

  app.get('/api/nodes/:node', (c) => {
    c.get('principal').requireMonitor();
    if (c.req.param('node') !== ctx.node) throw notFound();
    return c.json(nodeJson(ctx));
  });
}

function nodeJson(ctx: ApiContext): { [key: string]: Json } {
  const alarms = ctx.broker.alarms;
  const mem = process.memoryUsage();
  const fds = fileDescriptors();
  const diskFree = alarms?.diskFree;
  return {
    name: ctx.node,
    type: 'disc',
    running: true,
    os_pid: String(process.pid),
    processors: availableParallelism(),
    uptime: Date.now() - ctx.startedAt,
    rates_mode: ctx.messageStats ? 'basic' : 'none',
    // The alarm's own measure (heap in use plus buffers), so mem_used and mem_alarm agree.
    mem_used: alarms?.memoryUsed || mem.heapUsed + mem.external,
    mem_limit: alarms?.options.memoryHighWatermark ?? 0,
    mem_alarm: alarms?.memoryAlarm ?? false,
    // Not measured yet (no alarms running, or statfs failed): unknown, not infinite.
    disk_free: diskFree !== undefined && Number.isFinite(diskFree) ? diskFree : null,
    disk_free_limit: alarms?.options.diskFreeLimit ?? 0,
    disk_free_alarm: alarms?.diskAlarm ?? false,
    fd_used: fds?.used ?? null,
    fd_total: fds?.total ?? null,
    sockets_used: ctx.connections.list().length,
    sockets_total: fds?.total ?? null,
    partitions: [],
  };
}

/** Open descriptors and their limit, from /proc (Linux); undefined elsewhere. */
function fileDescriptors(): { used: number; total: number | null } | undefined {
  try {
    const used = readdirSync('/proc/self/fd').length - 1; // minus the directory handle just opened
    const limits = /Max open files\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    const total = limits && limits[1] !== 'unlimited' ? Number(limits[1]) : null;
    return { used, total };
  } catch {
    return undefined;
  }
}
