/** Users, vhosts and permissions: the administrator's commands (the API refuses them to other users). */
import type { CommandSpec } from '../command.js';
import { describe, VHOST } from '../command.js';
import { enc } from '../http-client.js';

/** `a,b` → ['a', 'b']; an empty string is no tags (not one empty tag). */
function tagList(text: string | undefined): string[] {
  return (text ?? '').split(',').map((t) => t.trim()).filter((t) => t !== '');
}

const addUser: CommandSpec = {
  words: ['add', 'user'],
  args: ['NAME'],
  options: [{ name: 'password', value: 'P', required: true }, { name: 'tags', value: 'a,b' }],
  // --password after the command words is the new user's; the connection's own goes before them
  // (`warren --password ADMINPW add user …`), or in WARREN_PASSWORD or the URL (see admin.ts).
  summary: 'add a user, or change its password and tags (administrator, monitoring, management, policymaker)',
  async run(ctx) {
    const name = ctx.arg('NAME')!;
    const what = describe('user', name);
    const { status } = await ctx.client.send('PUT', `/api/users/${enc(name)}`, {
      what, body: { password: ctx.opt('password'), tags: tagList(ctx.opt('tags')) },
    });
    ctx.done(`${status === 201 ? 'added' : 'updated'} ${what}`);
  },
};

const deleteUser: CommandSpec = {
  words: ['delete', 'user'],
  args: ['NAME'],
  summary: 'delete a user and its permissions',
  async run(ctx) {
    const what = describe('user', ctx.arg('NAME')!);
    await ctx.client.request('DELETE', `/api/users/${enc(ctx.arg('NAME')!)}`, { what });
    ctx.done(`deleted ${what}`);
  },
};

const addVhost: CommandSpec = {
  words: ['add', 'vhost'],
  args: ['NAME'],
  options: [{ name: 'description', value: 'D' }, { name: 'tags', value: 'a,b' }],
  summary: 'add a virtual host',
  async run(ctx) {
    const name = ctx.arg('NAME')!;
    const what = describe('vhost', name);
    const body: Record<string, unknown> = { tags: tagList(ctx.opt('tags')) };
    if (ctx.opt('description') !== undefined) body.description = ctx.opt('description');
    const { status } = await ctx.client.send('PUT', `/api/vhosts/${enc(name)}`, { what, body });
    ctx.done(status === 201 ? `added ${what}` : `${what} already existed`);
  },
};

const deleteVhost: CommandSpec = {
  words: ['delete', 'vhost'],
  args: ['NAME'],
  summary: 'delete a virtual host with its queues, messages and connections',
  async run(ctx) {
    const what = describe('vhost', ctx.arg('NAME')!);
    await ctx.client.request('DELETE', `/api/vhosts/${enc(ctx.arg('NAME')!)}`, { what });
    ctx.done(`deleted ${what}`);
  },
};

const setPermissions: CommandSpec = {
  words: ['set', 'permissions'],
  options: [
    { name: 'user', value: 'U', required: true }, VHOST,
    { name: 'configure', value: 'RE', required: true }, { name: 'write', value: 'RE', required: true }, { name: 'read', value: 'RE', required: true },
  ],
  summary: "set a user's configure/write/read regular expressions in a vhost ('.*' allows all, '' none)",
  async run(ctx) {
    const user = ctx.opt('user')!;
    const what = `permissions of user '${user}' in vhost '${ctx.vhost}'`;
    await ctx.client.request('PUT', `/api/permissions/${enc(ctx.vhost)}/${enc(user)}`, {
      what, body: { configure: ctx.opt('configure'), write: ctx.opt('write'), read: ctx.opt('read') },
    });
    ctx.done(`set ${what}`);
  },
};

const deletePermissions: CommandSpec = {
  words: ['delete', 'permissions'],
  options: [{ name: 'user', value: 'U', required: true }, VHOST],
  summary: "remove a user's access to a vhost",
  async run(ctx) {
    const user = ctx.opt('user')!;
    const what = `permissions of user '${user}' in vhost '${ctx.vhost}'`;
    await ctx.client.request('DELETE', `/api/permissions/${enc(ctx.vhost)}/${enc(user)}`, { what });
    ctx.done(`deleted ${what}`);
  },
};

export const accessCommands: CommandSpec[] = [addUser, deleteUser, addVhost, deleteVhost, setPermissions, deletePermissions];
