import type { Hono } from 'hono';
import type { ApiUser, PermissionDefinition } from '../access-directory.js';
import type { ApiContext, ApiEnv } from '../api-context.js';
import { vhostParam } from '../api-context.js';
import { notFound } from '../errors.js';
import type { Json } from '../json-values.js';
import { sendList } from '../list-query.js';

function userJson(u: ApiUser): { [key: string]: Json } {
  return { name: u.name, tags: [...u.tags], limits: {} };
}

function permissionJson(p: PermissionDefinition): { [key: string]: Json } {
  return { ...p };
}

/**
 * Users and permissions, read-only for now (they change through the AccessDirectory seam once the
 * core manages them at run time). Password hashes are never shown here, only in a definitions export.
 */
export function userRoutes(app: Hono<ApiEnv>, ctx: ApiContext): void {
  app.get('/api/whoami', (c) => c.json(userJson(c.get('principal').user)));

  app.get('/api/users', (c) => {
    c.get('principal').requireAdmin();
    return sendList(c, ctx.directory.users().map(userJson));
  });
  app.get('/api/users/:name', (c) => {
    c.get('principal').requireAdmin();
    const u = ctx.directory.user(c.req.param('name'));
    if (!u) throw notFound();
    return c.json(userJson(u));
  });
  app.get('/api/users/:name/permissions', (c) => {
    c.get('principal').requireAdmin();
    const name = c.req.param('name');
    if (!ctx.directory.user(name)) throw notFound();
    return sendList(c, ctx.directory.permissions().filter((p) => p.user === name).map(permissionJson));
  });

  app.get('/api/permissions', (c) => {
    c.get('principal').requireAdmin();
    return sendList(c, ctx.directory.permissions().map(permissionJson));
  });
  app.get('/api/vhosts/:vhost/permissions', (c) => {
    c.get('principal').requireAdmin();
    const v = vhostParam(c, ctx).name;
    return sendList(c, ctx.directory.permissions().filter((p) => p.vhost === v).map(permissionJson));
  });
  app.get('/api/permissions/:vhost/:user', (c) => {
    c.get('principal').requireAdmin();
    const v = vhostParam(c, ctx).name;
    const perm = ctx.directory.permissions().find((p) => p.vhost === v && p.user === c.req.param('user'));
    if (!perm) throw notFound();
    return c.json(permissionJson(perm));
  });
}
