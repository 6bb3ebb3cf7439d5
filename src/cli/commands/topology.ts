/** Queues, exchanges and bindings: declare, delete, purge. */
import { jsonObjectOption } from '../args.js';
import type { CommandContext, CommandSpec, OptionSpec } from '../command.js';
import { describe, VHOST } from '../command.js';
import { enc, exchangePath } from '../http-client.js';

const DURABLE: OptionSpec = { name: 'durable', boolean: true };
const AUTO_DELETE: OptionSpec = { name: 'auto-delete', boolean: true };
const ARGUMENTS: OptionSpec = { name: 'arguments', value: 'JSON' };
const IF_UNUSED: OptionSpec = { name: 'if-unused', boolean: true };

function args(ctx: CommandContext): Record<string, unknown> {
  const text = ctx.opt('arguments');
  return text === undefined ? {} : jsonObjectOption('arguments', text);
}

/** `?if-unused=true&if-empty=true` from the flags that are set. */
function conditions(ctx: CommandContext, names: string[]): string {
  const set = names.filter((n) => ctx.flag(n) === true);
  return set.length === 0 ? '' : `?${set.map((n) => `${n}=true`).join('&')}`;
}

const declareQueue: CommandSpec = {
  words: ['declare', 'queue'],
  args: ['NAME'],
  // Transient unless --durable, as amqp-declare-queue; the flag makes the choice visible in scripts.
  options: [VHOST, DURABLE, AUTO_DELETE, ARGUMENTS],
  summary: 'declare a queue (transient unless --durable)',
  async run(ctx) {
    const name = ctx.arg('NAME')!;
    const what = describe('queue', name, ctx.vhost);
    await ctx.client.request('PUT', `/api/queues/${enc(ctx.vhost)}/${enc(name)}`, {
      what, body: { durable: ctx.flag('durable') ?? false, auto_delete: ctx.flag('auto-delete') ?? false, arguments: args(ctx) },
    });
    ctx.done(`declared ${what}`);
  },
};

const declareExchange: CommandSpec = {
  words: ['declare', 'exchange'],
  args: ['NAME'],
  options: [{ name: 'type', value: 'T', required: true }, VHOST, DURABLE, AUTO_DELETE, { name: 'internal', boolean: true }, ARGUMENTS],
  summary: 'declare an exchange: direct, fanout, topic, headers, x-delayed-message (transient unless --durable)',
  async run(ctx) {
    const name = ctx.arg('NAME')!;
    const what = describe('exchange', name, ctx.vhost);
    await ctx.client.request('PUT', `/api/exchanges/${enc(ctx.vhost)}/${exchangePath(name)}`, {
      what,
      body: {
        type: ctx.opt('type'), durable: ctx.flag('durable') ?? false, auto_delete: ctx.flag('auto-delete') ?? false,
        internal: ctx.flag('internal') ?? false, arguments: args(ctx),
      },
    });
    ctx.done(`declared ${what}`);
  },
};

const BINDING_OPTIONS: OptionSpec[] = [
  { name: 'source', value: 'S', required: true },
  { name: 'destination', value: 'D', required: true },
  { name: 'destination-type', value: 'queue|exchange' },
  { name: 'routing-key', value: 'K' },
  ARGUMENTS,
  VHOST,
];

interface BindingTarget { path: string; what: string; routingKey: string }

/** The path of the (source, destination) pair, e.g. /api/bindings/%2F/e/logs/q/errors. */
function bindingTarget(ctx: CommandContext): BindingTarget {
  const type = ctx.opt('destination-type') ?? 'queue';
  if (type !== 'queue' && type !== 'exchange') throw ctx.usage(`--destination-type: '${type}' is neither queue nor exchange`);
  const source = ctx.opt('source')!;
  const dest = ctx.opt('destination')!;
  const routingKey = ctx.opt('routing-key') ?? '';
  const destPath = type === 'queue' ? `q/${enc(dest)}` : `e/${exchangePath(dest)}`;
  return {
    path: `/api/bindings/${enc(ctx.vhost)}/e/${exchangePath(source)}/${destPath}`,
    what: `binding from exchange '${source}' to ${type} '${dest}' with routing key '${routingKey}' in vhost '${ctx.vhost}'`,
    routingKey,
  };
}

const declareBinding: CommandSpec = {
  words: ['declare', 'binding'],
  options: BINDING_OPTIONS,
  summary: 'bind a queue (or, with --destination-type exchange, an exchange) to an exchange',
  async run(ctx) {
    const t = bindingTarget(ctx);
    await ctx.client.request('POST', t.path, { what: t.what, body: { routing_key: t.routingKey, arguments: args(ctx) } });
    ctx.done(`declared ${t.what}`);
  },
};

/** JSON with object keys sorted, so argument tables compare by content, not key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj).sort().map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const deleteBinding: CommandSpec = {
  words: ['delete', 'binding'],
  options: BINDING_OPTIONS,
  summary: 'delete the binding with this routing key and arguments (none unless --arguments)',
  async run(ctx) {
    const t = bindingTarget(ctx);
    // A binding's path ends in its properties_key, which the server derives (with a digest when
    // there are arguments); listing the pair and matching is how a client finds it reliably.
    const list = await ctx.client.request('GET', t.path, { what: t.what }) as { routing_key: string; arguments: unknown; properties_key: string }[];
    const wanted = canonical(args(ctx));
    const found = list.find((b) => b.routing_key === t.routingKey && canonical(b.arguments ?? {}) === wanted);
    // Not a usage mistake but a failed operation (exit 1), like deleting a missing queue.
    if (!found) throw new Error(`no ${t.what}${wanted === '{}' ? '' : ` and arguments ${wanted}`}`);
    await ctx.client.request('DELETE', `${t.path}/${enc(found.properties_key)}`, { what: t.what });
    ctx.done(`deleted ${t.what}`);
  },
};

const deleteQueue: CommandSpec = {
  words: ['delete', 'queue'],
  args: ['NAME'],
  options: [VHOST, IF_UNUSED, { name: 'if-empty', boolean: true }],
  summary: 'delete a queue and its messages',
  async run(ctx) {
    const name = ctx.arg('NAME')!;
    const what = describe('queue', name, ctx.vhost);
    await ctx.client.request('DELETE', `/api/queues/${enc(ctx.vhost)}/${enc(name)}${conditions(ctx, ['if-unused', 'if-empty'])}`, { what });
    ctx.done(`deleted ${what}`);
  },
};

const deleteExchange: CommandSpec = {
  words: ['delete', 'exchange'],
  args: ['NAME'],
  options: [VHOST, IF_UNUSED],
  summary: 'delete an exchange and its bindings',
  async run(ctx) {
    const name = ctx.arg('NAME')!;
    const what = describe('exchange', name, ctx.vhost);
    await ctx.client.request('DELETE', `/api/exchanges/${enc(ctx.vhost)}/${exchangePath(name)}${conditions(ctx, ['if-unused'])}`, { what });
    ctx.done(`deleted ${what}`);
  },
};

const purgeQueue: CommandSpec = {
  words: ['purge', 'queue'],
  args: ['NAME'],
  options: [VHOST],
  summary: 'remove every ready message from a queue',
  async run(ctx) {
    const name = ctx.arg('NAME')!;
    const what = describe('queue', name, ctx.vhost);
    await ctx.client.request('DELETE', `/api/queues/${enc(ctx.vhost)}/${enc(name)}/contents`, { what });
    ctx.done(`purged ${what}`);
  },
};

export const topologyCommands: CommandSpec[] = [declareQueue, declareExchange, declareBinding, deleteQueue, deleteExchange, deleteBinding, purgeQueue];
