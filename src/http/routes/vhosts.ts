import type { Hono } from 'hono';
import type { ApiContext, ApiEnv } from '../api-context.js';
import { vhostParam } from '../api-context.js';
import { HttpError } from '../errors.js';
import { sendList } from '../list-query.js';
import { vhostJson } from '../resources.js';

/** Virtual hosts: list, show, create (administrator). */
export function vhostRoutes(app: Hono<ApiEnv>, ctx: ApiContext): void {
  app.get('/api/vhosts', (c) => {
    const p = c.get('principal');
    const names = [...ctx.broker.vhosts.keys()].sort().filter((n) => p.canSeeVhost(n));
    return sendList(c, names.map((n) => vhostJson(ctx, ctx.broker.vhosts.get(n)!)));
  });

  app.get('/api/vhosts/:vhost', (c) => {
    const v = vhostParam(c, ctx);
    c.get('principal').requireRead(v.name);
    return c.json(vhostJson(ctx, v));
  });

  // The body (description, tags, default queue type) is accepted and not kept yet.
  app.put('/api/vhosts/:vhost', (c) => {
    c.get('principal').requireAdmin();
    const created = ctx.directory.addVhost(c.req.param('vhost'));
    return c.body(null, created ? 201 : 204);
  });

  app.delete('/api/vhosts/:vhost', (c) => {
    c.get('principal').requireAdmin();
    throw new HttpError(405, 'method_not_allowed', 'deleting a vhost is not supported yet');
  });
}
