import { BrokerError } from '../core/broker-error.js';
import type { VirtualHost } from '../core/vhost.js';
import { createLogger } from '../log.js';
import type { PermissionDefinition, UserDefinition } from './access-directory.js';
import type { ApiContext } from './api-context.js';
import { declarableName } from './api-context.js';
import { badRequest } from './errors.js';
import { jsonToTable } from './json-values.js';

const log = createLogger('http');

type Item = Record<string, unknown>;

/**
 * Imports a definitions file in RabbitMQ's format (an export of RabbitMQ or Warren), in the order
 * that lets each part find what it needs: users, vhosts, permissions, policies (before the
 * objects they apply to), exchanges, queues, bindings. Existing objects must be equivalent (as a
 * redeclare); the first failure stops the import with 400, naming the object (what came before
 * it stays, as in RabbitMQ). `into` imports a per-vhost file into that vhost.
 *
 * Users and permissions go through the AccessDirectory, best effort: a user whose password hash
 * this core cannot verify is skipped with a warning, and permissions are kept only when the
 * directory keeps them (today every user may use every vhost).
 */
export function importDefinitions(ctx: ApiContext, defs: Record<string, unknown>, into?: VirtualHost): void {
  const list = (key: string): Item[] => {
    const v = defs[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => !x || typeof x !== 'object' || Array.isArray(x))) throw badRequest(`${key} must be an array of objects`);
    return v as Item[];
  };
  const str = (item: Item, key: string, what: string, fallback?: string): string => {
    const v = item[key] ?? fallback;
    if (typeof v !== 'string') throw badRequest(`${what}: ${key} must be a string`);
    return v;
  };
  const bool = (item: Item, key: string, what: string, fallback: boolean): boolean => {
    const v = item[key] ?? fallback;
    if (typeof v !== 'boolean') throw badRequest(`${what}: ${key} must be a boolean`);
    return v;
  };
  const vhostOf = (item: Item, what: string): VirtualHost => {
    const name = into ? into.name : str(item, 'vhost', what);
    const v = ctx.broker.getVhost(name);
    if (!v) throw badRequest(`${what}: vhost '${name}' does not exist`);
    return v;
  };
  /** Runs one object's import; a broker refusal becomes a 400 that says which object. */
  const step = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      if (err instanceof BrokerError) throw badRequest(`${what}: ${err.text}`);
      throw err;
    }
  };

  // Read everything first: a malformed section fails the import before anything changes.
  const sections = {
    users: into ? [] : list('users'), vhosts: into ? [] : list('vhosts'), permissions: into ? [] : list('permissions'),
    policies: list('policies'), exchanges: list('exchanges'), queues: list('queues'), bindings: list('bindings'),
  };
  // Runtime parameters (federation, shovels) and topic permissions change behaviour: say they were
  // dropped. global_parameters hold the source cluster's name and id, which mean nothing here.
  for (const key of ['parameters', 'topic_permissions']) {
    if (list(key).length > 0) log.warn(`definitions import: '${key}' are not supported and were ignored`, { count: list(key).length });
  }

  for (const u of sections.users) {
    const name = str(u, 'name', 'user');
    try {
      ctx.directory.importUser(u as unknown as UserDefinition);
    } catch (err) {
      if (!(err instanceof BrokerError)) throw err;
      log.warn('definitions import: user skipped', { user: name, reason: err.text });
    }
  }
  for (const v of sections.vhosts) {
    const meta = (typeof v['metadata'] === 'object' && v['metadata'] !== null ? v['metadata'] : {}) as Record<string, unknown>;
    ctx.directory.putVhost(str(v, 'name', 'vhost'), {
      description: typeof v['description'] === 'string' ? v['description'] : typeof meta['description'] === 'string' ? meta['description'] : undefined,
      tags: Array.isArray(v['tags']) ? v['tags'].map(String) : Array.isArray(meta['tags']) ? meta['tags'].map(String) : undefined,
      defaultQueueType: typeof meta['default_queue_type'] === 'string' ? meta['default_queue_type'] : undefined,
    });
  }
  for (const p of sections.permissions) {
    const user = str(p, 'user', 'permission');
    str(p, 'vhost', 'permission');
    try {
      ctx.directory.importPermission(p as unknown as PermissionDefinition);
    } catch (err) {
      if (!(err instanceof BrokerError)) throw err;
      log.warn('definitions import: permission skipped', { user, vhost: p['vhost'], reason: err.text });
    }
  }
  for (const p of sections.policies) {
    const what = `policy '${String(p.name)}'`;
    const v = vhostOf(p, what);
    step(what, () => v.setPolicy({
      name: p.name as string, pattern: p.pattern as string, applyTo: p['apply-to'] as string | undefined,
      priority: p.priority as number | undefined, definition: p.definition as Record<string, unknown>,
    }));
  }
  for (const e of sections.exchanges) {
    const what = `exchange '${String(e.name)}'`;
    const v = vhostOf(e, what);
    const name = str(e, 'name', what);
    // Exports from RabbitMQ may list the predeclared exchanges; they exist already.
    if (name === '' || name.startsWith('amq.')) continue;
    step(what, () => v.declareExchange(declarableName(name, 'exchange'), str(e, 'type', what), {
      durable: bool(e, 'durable', what, true), autoDelete: bool(e, 'auto_delete', what, false),
      internal: bool(e, 'internal', what, false), arguments: jsonToTable(e.arguments, `${what} arguments`),
    }, false));
  }
  for (const q of sections.queues) {
    const what = `queue '${String(q.name)}'`;
    const v = vhostOf(q, what);
    const name = str(q, 'name', what);
    step(what, () => v.declareQueue(declarableName(name, 'queue'), {
      durable: bool(q, 'durable', what, true), exclusive: false, autoDelete: bool(q, 'auto_delete', what, false),
      arguments: jsonToTable(q.arguments, `${what} arguments`),
    }, false, null));
  }
  for (const b of sections.bindings) {
    const source = str(b, 'source', 'binding');
    const destination = str(b, 'destination', 'binding');
    const what = `binding '${source}' -> '${destination}'`;
    const v = vhostOf(b, what);
    const type = str(b, 'destination_type', what, 'queue');
    const src = v.exchanges.get(source);
    const dest = type === 'queue' ? v.queues.get(destination) : type === 'exchange' ? v.exchanges.get(destination) : undefined;
    if (!src || !dest) throw badRequest(`${what}: source or destination does not exist in vhost '${v.name}'`);
    step(what, () => v.bind(src, dest, str(b, 'routing_key', what, ''), jsonToTable(b.arguments, `${what} arguments`)));
  }
}
