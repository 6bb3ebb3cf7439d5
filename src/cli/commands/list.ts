/** `warren list KIND` for every object kind, and `warren overview`. */
import type { CommandContext, CommandSpec } from '../command.js';
import { VHOST } from '../command.js';
import { enc } from '../http-client.js';
import { formatTable, pick } from '../table.js';

interface ListKind {
  kind: string;
  /** The path for all vhosts; undefined when the kind only exists per vhost. */
  all: string;
  /** The path for one vhost; absent when the kind is not per vhost (users, vhosts). */
  perVhost?: (vhost: string) => string;
  /** The columns shown by default: what an operator looks at first, narrow enough for a terminal. */
  columns: string[];
}

const KINDS: ListKind[] = [
  { kind: 'queues', all: '/api/queues', perVhost: (v) => `/api/queues/${enc(v)}`,
    columns: ['vhost', 'name', 'messages', 'messages_ready', 'messages_unacknowledged', 'consumers'] },
  { kind: 'exchanges', all: '/api/exchanges', perVhost: (v) => `/api/exchanges/${enc(v)}`,
    columns: ['vhost', 'name', 'type', 'durable', 'auto_delete', 'internal'] },
  { kind: 'bindings', all: '/api/bindings', perVhost: (v) => `/api/bindings/${enc(v)}`,
    columns: ['vhost', 'source', 'destination', 'destination_type', 'routing_key', 'arguments'] },
  { kind: 'connections', all: '/api/connections', perVhost: (v) => `/api/vhosts/${enc(v)}/connections`,
    columns: ['name', 'user', 'vhost', 'state', 'channels', 'peer_host', 'peer_port'] },
  { kind: 'channels', all: '/api/channels', perVhost: (v) => `/api/vhosts/${enc(v)}/channels`,
    columns: ['name', 'user', 'vhost', 'consumer_count', 'messages_unacknowledged', 'prefetch_count', 'confirm'] },
  { kind: 'consumers', all: '/api/consumers', perVhost: (v) => `/api/consumers/${enc(v)}`,
    columns: ['queue.vhost', 'queue.name', 'consumer_tag', 'channel_details.name', 'ack_required', 'prefetch_count', 'active'] },
  { kind: 'users', all: '/api/users', columns: ['name', 'tags'] },
  { kind: 'vhosts', all: '/api/vhosts', columns: ['name', 'messages', 'messages_ready', 'messages_unacknowledged'] },
  { kind: 'policies', all: '/api/policies', perVhost: (v) => `/api/policies/${enc(v)}`,
    columns: ['vhost', 'name', 'pattern', 'apply-to', 'priority', 'definition'] },
  { kind: 'permissions', all: '/api/permissions', perVhost: (v) => `/api/vhosts/${enc(v)}/permissions`,
    columns: ['user', 'vhost', 'configure', 'write', 'read'] },
];

export const LIST_KINDS = KINDS.map((k) => k.kind);

const COLUMNS = { name: 'columns', value: 'A,B' };

function listCommand(k: ListKind): CommandSpec {
  const perVhost = k.perVhost;
  return {
    words: ['list', k.kind],
    // Without --vhost, every vhost the user may see, as `rabbitmqadmin list` does.
    options: perVhost ? [VHOST, COLUMNS] : [COLUMNS],
    summary: `list ${k.kind}${perVhost ? ' (every vhost unless --vhost)' : ''}; --columns picks the fields shown`,
    async run(ctx: CommandContext) {
      const vhost = ctx.opt('vhost');
      const path = vhost !== undefined && perVhost ? perVhost(vhost) : k.all;
      ctx.printList(await ctx.client.request('GET', path, { what: vhost !== undefined ? `vhost '${vhost}'` : undefined }), k.columns);
    },
  };
}

/** The overview as label/value lines: totals an operator checks first, from RabbitMQ's fields. */
const OVERVIEW_LINES: [string, string][] = [
  ['product', 'product_name'],
  ['version', 'product_version'],
  ['rabbitmq_version', 'rabbitmq_version'],
  ['node', 'node'],
  ['connections', 'object_totals.connections'],
  ['channels', 'object_totals.channels'],
  ['exchanges', 'object_totals.exchanges'],
  ['queues', 'object_totals.queues'],
  ['consumers', 'object_totals.consumers'],
  ['messages', 'queue_totals.messages'],
  ['messages_ready', 'queue_totals.messages_ready'],
  ['messages_unacknowledged', 'queue_totals.messages_unacknowledged'],
  ['publish_rate', 'message_stats.publish_details.rate'],
  ['deliver_get_rate', 'message_stats.deliver_get_details.rate'],
];

const overview: CommandSpec = {
  words: ['overview'],
  summary: 'broker version, object and message totals, listeners',
  async run(ctx) {
    const body = await ctx.client.request('GET', '/api/overview') as Record<string, unknown>;
    if (ctx.json) return ctx.printJson(body);
    const rows: { field: string; value: unknown }[] = OVERVIEW_LINES.map(([field, path]) => ({ field, value: pick(body, path) }))
      .filter((r) => r.value !== undefined);
    const listeners = Array.isArray(body.listeners) ? body.listeners as { protocol?: string; ip_address?: string; port?: number }[] : [];
    for (const l of listeners) rows.push({ field: `listener ${l.protocol ?? '?'}`, value: `${l.ip_address ?? '?'}:${l.port ?? '?'}` });
    // Values as text so numbers and words share one left-aligned column.
    ctx.print(formatTable(rows.map((r) => ({ field: r.field, value: String(r.value) })), ['field', 'value'], { header: false }));
  },
};

export const listCommands: CommandSpec[] = [...KINDS.map(listCommand), overview];
