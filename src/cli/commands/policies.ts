/** Policies: set (add or replace) and delete. */
import { integerOption, jsonObjectOption } from '../args.js';
import type { CommandSpec } from '../command.js';
import { describe, VHOST } from '../command.js';
import { enc } from '../http-client.js';

const setPolicy: CommandSpec = {
  words: ['set', 'policy'],
  args: ['NAME'],
  options: [
    { name: 'pattern', value: 'RE', required: true }, { name: 'definition', value: 'JSON', required: true },
    { name: 'apply-to', value: 'all|queues|exchanges' }, { name: 'priority', value: 'N' }, VHOST,
  ],
  summary: 'add or replace a policy, e.g. --definition \'{"message-ttl": 60000}\'',
  async run(ctx) {
    const name = ctx.arg('NAME')!;
    const body: Record<string, unknown> = { pattern: ctx.opt('pattern'), definition: jsonObjectOption('definition', ctx.opt('definition')!) };
    if (ctx.opt('apply-to') !== undefined) body['apply-to'] = ctx.opt('apply-to');
    if (ctx.opt('priority') !== undefined) body.priority = integerOption('priority', ctx.opt('priority')!, Number.MIN_SAFE_INTEGER);
    const what = describe('policy', name, ctx.vhost);
    const { status } = await ctx.client.send('PUT', `/api/policies/${enc(ctx.vhost)}/${enc(name)}`, { what, body });
    ctx.done(`${status === 201 ? 'set' : 'replaced'} ${what}`);
  },
};

const deletePolicy: CommandSpec = {
  words: ['delete', 'policy'],
  args: ['NAME'],
  options: [VHOST],
  summary: 'delete a policy',
  async run(ctx) {
    const name = ctx.arg('NAME')!;
    const what = describe('policy', name, ctx.vhost);
    await ctx.client.request('DELETE', `/api/policies/${enc(ctx.vhost)}/${enc(name)}`, { what });
    ctx.done(`deleted ${what}`);
  },
};

export const policyCommands: CommandSpec[] = [setPolicy, deletePolicy];
