import { VERSION } from '../protocol/amqp/handshake.js';
import type { VirtualHost } from '../core/vhost.js';
import type { ApiContext } from './api-context.js';
import type { Json } from './json-values.js';
import { tableToJson } from './json-values.js';
import { API_COMPAT_VERSION } from './routes/overview.js';

type Obj = { [key: string]: Json };

/**
 * The broker's definitions in RabbitMQ's export format, so a file moves between RabbitMQ and
 * Warren: users (with their password hashes), vhosts, permissions, policies, and every queue,
 * exchange and binding a client could not simply redeclare from scratch. Left out, as RabbitMQ
 * leaves them out: exclusive queues (they die with their connection), the default exchange and
 * the amq.* ones (every vhost has them), the default exchange's implicit bindings.
 */
export function exportDefinitions(ctx: ApiContext, only?: VirtualHost): Obj {
  const vhosts = only ? [only] : [...ctx.broker.vhosts.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  const queues: Obj[] = [];
  const exchanges: Obj[] = [];
  const bindings: Obj[] = [];
  const policies: Obj[] = [];
  for (const v of vhosts) {
    for (const p of v.listPolicies()) policies.push(p.toJSON() as unknown as Obj);
    for (const q of v.queues.values()) {
      if (q.exclusive) continue;
      queues.push({ name: q.name, vhost: v.name, durable: q.durable, auto_delete: q.autoDelete, arguments: tableToJson(q.arguments) });
    }
    for (const ex of v.exchanges.values()) {
      if (ex === v.defaultExchange) continue;
      if (!ex.name.startsWith('amq.')) {
        exchanges.push({ name: ex.name, vhost: v.name, type: ex.type, durable: ex.durable, auto_delete: ex.autoDelete,
          internal: ex.internal, arguments: tableToJson(ex.arguments) });
      }
      for (const b of ex.bindings()) {
        if (b.destination.kind === 'queue' && b.destination.exclusive) continue;
        bindings.push({ source: ex.name, vhost: v.name, destination: b.destination.name, destination_type: b.destination.kind,
          routing_key: b.routingKey, arguments: tableToJson(b.arguments) });
      }
    }
  }
  // A per-vhost export has no users, vhosts or permissions in RabbitMQ either.
  if (only) return { rabbit_version: API_COMPAT_VERSION, rabbitmq_version: API_COMPAT_VERSION, policies, queues, exchanges, bindings, parameters: [] };
  return {
    rabbit_version: API_COMPAT_VERSION,
    rabbitmq_version: API_COMPAT_VERSION,
    product_name: 'Warren',
    product_version: VERSION,
    users: ctx.directory.userDefinitions().map((u) => ({ ...u, limits: {} })),
    vhosts: vhosts.map((v) => ({
      name: v.name, description: v.description, tags: [...v.tags], limits: [],
      metadata: { description: v.description, tags: [...v.tags], ...(v.defaultQueueType ? { default_queue_type: v.defaultQueueType } : {}) },
    })),
    permissions: ctx.directory.permissions().map((p) => ({ ...p })),
    topic_permissions: [],
    parameters: [],
    global_parameters: [],
    policies,
    queues,
    exchanges,
    bindings,
  };
}
