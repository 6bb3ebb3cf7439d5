import type { Hono } from 'hono';
import type { ApiContext, ApiEnv } from '../api-context.js';
import { jsonBody, vhostParam } from '../api-context.js';
import { notFound } from '../errors.js';
import type { Json } from '../json-values.js';
import { sendList } from '../list-query.js';

/** Policies (Broker.setPolicy / deletePolicy / listPolicies): reading needs vhost access, changing the policymaker tag. */
export function policyRoutes(app: Hono<ApiEnv>, ctx: ApiContext): void {
  app.get('/api/policies', (c) => {
    const p = c.get('principal');
    return sendList(c, ctx.broker.listPolicies().filter((x) => p.canSeeVhost(x.vhost)).map((x) => x.toJSON() as unknown as { [k: string]: Json }));
  });
  app.get('/api/policies/:vhost', (c) => {
    const v = vhostParam(c, ctx);
    c.get('principal').requireRead(v.name);
    return sendList(c, v.listPolicies().map((x) => x.toJSON() as unknown as { [k: string]: Json }));
  });
  app.get('/api/policies/:vhost/:name', (c) => {
    const v = vhostParam(c, ctx);
    c.get('principal').requireRead(v.name);
    const policy = v.getPolicy(c.req.param('name'));
    if (!policy) throw notFound();
    return c.json(policy.toJSON());
  });
  app.put('/api/policies/:vhost/:name', async (c) => {
    const v = vhostParam(c, ctx);
    c.get('principal').requirePolicyWrite(v.name);
    const body = await jsonBody(c);
    const name = c.req.param('name');
    const existed = v.getPolicy(name) !== undefined;
    // The Policy constructor checks every field's type and value (406 → 400 with its reason).
    ctx.broker.setPolicy(v.name, {
      name,
      pattern: body.pattern as string,
      applyTo: body['apply-to'] as string | undefined,
      priority: body.priority as number | undefined,
      definition: body.definition as Record<string, unknown>,
    });
    return c.body(null, existed ? 204 : 201);
  });
  app.delete('/api/policies/:vhost/:name', (c) => {
    const v = vhostParam(c, ctx);
    c.get('principal').requirePolicyWrite(v.name);
    ctx.broker.deletePolicy(v.name, c.req.param('name'));
    return c.body(null, 204);
  });
}
