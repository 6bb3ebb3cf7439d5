/** Acting on client connections: closing one, as an operator does with a misbehaving client. */
import type { CommandSpec } from '../command.js';
import { describe } from '../command.js';
import { enc } from '../http-client.js';

const closeConnection: CommandSpec = {
  words: ['close', 'connection'],
  args: ['NAME'],
  options: [{ name: 'reason', value: 'R' }],
  summary: "close a client connection (NAME as 'list connections' shows it); the client sees 320 with the reason",
  async run(ctx) {
    const name = ctx.arg('NAME')!;
    const reason = ctx.opt('reason');
    const what = describe('connection', name);
    // RabbitMQ's API takes the reason in the X-Reason header; HTTP headers are Latin-1, so it is kept printable ASCII.
    const headers = reason === undefined ? undefined : { 'x-reason': reason.replace(/[^\x20-\x7e]/g, '?') };
    await ctx.client.request('DELETE', `/api/connections/${enc(name)}`, { what, headers });
    ctx.done(`closed ${what}`);
  },
};

export const connectionCommands: CommandSpec[] = [closeConnection];
