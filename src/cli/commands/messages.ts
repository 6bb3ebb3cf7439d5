/** Publishing and getting messages through the API: for testing and for operators, not throughput. */
import { integerOption, jsonObjectOption } from '../args.js';
import type { CommandSpec } from '../command.js';
import { describe, readStdin, VHOST } from '../command.js';
import { enc, exchangePath } from '../http-client.js';

const publish: CommandSpec = {
  words: ['publish'],
  options: [
    { name: 'exchange', value: 'E' }, { name: 'routing-key', value: 'K' }, { name: 'payload', value: 'P' },
    { name: 'payload-encoding', value: 'string|base64' }, { name: 'properties', value: 'JSON' }, VHOST,
  ],
  summary: 'publish one message (default exchange unless --exchange; payload from stdin unless --payload); prints whether it was routed',
  async run(ctx) {
    const exchange = ctx.opt('exchange') ?? '';
    let payload = ctx.opt('payload');
    if (payload === undefined) {
      // From stdin, so a file can be published: `warren publish … < msg.json`. A terminal on
      // stdin means nobody is piping anything: waiting would look like a hang.
      if (process.stdin.isTTY) throw ctx.usage('--payload is required (or pipe the payload on stdin)');
      payload = await readStdin();
    }
    const encoding = ctx.opt('payload-encoding') ?? 'string';
    if (encoding !== 'string' && encoding !== 'base64') throw ctx.usage(`--payload-encoding: '${encoding}' is neither string nor base64`);
    const properties = ctx.opt('properties') === undefined ? {} : jsonObjectOption('properties', ctx.opt('properties')!);
    const answer = await ctx.client.request('POST', `/api/exchanges/${enc(ctx.vhost)}/${exchangePath(exchange)}/publish`, {
      what: describe('exchange', exchange === '' ? 'amq.default' : exchange, ctx.vhost),
      body: { routing_key: ctx.opt('routing-key') ?? '', payload, payload_encoding: encoding, properties },
    }) as { routed?: boolean };
    if (ctx.json) return ctx.printJson(answer);
    ctx.print(`routed: ${answer?.routed === true}`);
  },
};

const ACK_MODES = ['ack_requeue_true', 'ack_requeue_false', 'reject_requeue_true', 'reject_requeue_false'];

const get: CommandSpec = {
  words: ['get'],
  options: [
    { name: 'queue', value: 'Q', required: true }, { name: 'count', value: 'N' }, { name: 'ackmode', value: ACK_MODES.join('|') },
    { name: 'encoding', value: 'auto|base64' }, { name: 'truncate', value: 'BYTES' }, VHOST,
  ],
  // ack_requeue_true by default, as rabbitmqadmin: looking at messages should not consume them.
  summary: 'get messages from a queue (by default they are requeued: --ackmode ack_requeue_false removes them)',
  async run(ctx) {
    const queue = ctx.opt('queue')!;
    const ackmode = ctx.opt('ackmode') ?? 'ack_requeue_true';
    if (!ACK_MODES.includes(ackmode)) throw ctx.usage(`--ackmode: '${ackmode}' is not one of ${ACK_MODES.join(', ')}`);
    const encoding = ctx.opt('encoding') ?? 'auto';
    if (encoding !== 'auto' && encoding !== 'base64') throw ctx.usage(`--encoding: '${encoding}' is neither auto nor base64`);
    const body: Record<string, unknown> = { count: integerOption('count', ctx.opt('count') ?? '1', 1), ackmode, encoding };
    if (ctx.opt('truncate') !== undefined) body.truncate = integerOption('truncate', ctx.opt('truncate')!, 0);
    const what = describe('queue', queue, ctx.vhost);
    const messages = await ctx.client.request('POST', `/api/queues/${enc(ctx.vhost)}/${enc(queue)}/get`, { what, body });
    if (!ctx.json && Array.isArray(messages) && messages.length === 0) return ctx.print(`no messages in ${what}`);
    ctx.printList(messages, ['exchange', 'routing_key', 'redelivered', 'message_count', 'payload_bytes', 'payload_encoding', 'payload']);
  },
};

export const messageCommands: CommandSpec[] = [publish, get];
