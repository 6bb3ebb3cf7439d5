import type { Hono } from 'hono';
import type { ApiContext, ApiEnv } from '../api-context.js';
import { jsonBody, vhostParam } from '../api-context.js';
import { exportDefinitions } from '../definitions-export.js';
import { importDefinitions } from '../definitions-import.js';

/** Definitions export and import, whole broker or one vhost (administrator only, as in RabbitMQ). */
export function definitionRoutes(app: Hono<ApiEnv>, ctx: ApiContext): void {
  app.get('/api/definitions', (c) => {
    c.get('principal').requireAdmin();
    return c.json(exportDefinitions(ctx));
  });
  app.post('/api/definitions', async (c) => {
    c.get('principal').requireAdmin();
    importDefinitions(ctx, await jsonBody(c));
    return c.body(null, 204);
  });
  app.get('/api/definitions/:vhost', (c) => {
    c.get('principal').requireAdmin();
    return c.json(exportDefinitions(ctx, vhostParam(c, ctx)));
  });
  app.post('/api/definitions/:vhost', async (c) => {
    c.get('principal').requireAdmin();
    const v = vhostParam(c, ctx);
    importDefinitions(ctx, await jsonBody(c), v);
    return c.body(null, 204);
  });
}
