import type { Hono } from 'hono';
import type { ApiUser, PermissionDefinition } from '../access-directory.js';
import type { ApiContext, ApiEnv } from '../api-context.js';
import { jsonBody, optionalString, stringField, vhostParam } from '../api-context.js';
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
 * Users and permissions, through the AccessDirectory (the core's users and permissions). Password
 * hashes are never shown here, only in a definitions export.
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
  app.put('/api/users/:name', async (c) => {
    c.get('principal').requireAdmin();
    const body = await jsonBody(c);
    const created = ctx.directory.putUser(c.req.param('name'), {
      password: optionalString(body, 'password'),
      passwordHash: optionalString(body, 'password_hash'),
      hashingAlgorithm: optionalString(body, 'hashing_algorithm'),
      tags: Array.isArray(body['tags']) ? body['tags'].map(String) : optionalString(body, 'tags') ?? [],
    });
    return c.body(null, created ? 201 : 204);
  });
  app.delete('/api/users/:name', (c) => {
    c.get('principal').requireAdmin();
    ctx.directory.deleteUser(c.req.param('name'));
    return c.body(null, 204);
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
  app.put('/api/permissions/:vhost/:user', async (c) => {
    c.get('principal').requireAdmin();
    const v = vhostParam(c, ctx).name;
    const body = await jsonBody(c);
    const created = ctx.directory.setPermissions(v, c.req.param('user'), {
      configure: stringField(body, 'configure'), write: stringField(body, 'write'), read: stringField(body, 'read'),
    });
    return c.body(null, created ? 201 : 204);
  });
  app.delete('/api/permissions/:vhost/:user', (c) => {
    c.get('principal').requireAdmin();
    ctx.directory.clearPermissions(vhostParam(c, ctx).name, c.req.param('user'));
    return c.body(null, 204);
  });
}
