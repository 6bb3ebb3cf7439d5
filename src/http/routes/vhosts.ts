import type { Hono } from 'hono';
import type { ApiContext, ApiEnv } from '../api-context.js';
import { boolField, jsonBody, optionalString, vhostParam } from '../api-context.js';
import { sendList } from '../list-query.js';
import { vhostJson } from '../resources.js';

/** Virtual hosts: list, show, create or update (administrator; `tracing` switches the firehose). */
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

  app.put('/api/vhosts/:vhost', async (c) => {
    c.get('principal').requireAdmin();
    const body = await jsonBody(c);
    const created = ctx.directory.putVhost(c.req.param('vhost'), {
      description: optionalString(body, 'description'),
      tags: Array.isArray(body['tags']) ? body['tags'].map(String) : optionalString(body, 'tags'),
      defaultQueueType: optionalString(body, 'default_queue_type'),
      // Firehose tracing (as RabbitMQ's field; absent: unchanged). Durable in Warren, unlike RabbitMQ.
      tracing: body['tracing'] == null ? undefined : boolField(body, 'tracing', false),
    });
    // As RabbitMQ's management API: the user who creates a vhost gets full permissions in it.
    if (created) ctx.directory.setPermissions(c.req.param('vhost'), c.get('principal').name, { configure: '.*', write: '.*', read: '.*' });
    return c.body(null, created ? 201 : 204);
  });

  // Deleting a vhost deletes its queues (and their messages) and closes its connections, as in RabbitMQ.
  app.delete('/api/vhosts/:vhost', (c) => {
    c.get('principal').requireAdmin();
    ctx.directory.deleteVhost(vhostParam(c, ctx).name);
    return c.body(null, 204);
  });
}
