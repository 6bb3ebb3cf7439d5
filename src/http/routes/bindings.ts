import type { Hono } from 'hono';
import type { Binding, Destination, Exchange } from '../../core/exchange/exchange.js';
import type { VirtualHost } from '../../core/vhost.js';
import type { ApiContext, ApiCtx, ApiEnv } from '../api-context.js';
import type { VhostAccess } from '../../core/auth/access.js';
import { accessOf, exchangeNameParam, jsonBody, stringField, vhostParam } from '../api-context.js';
import { notFound } from '../errors.js';
import { jsonToTable, tableToJson } from '../json-values.js';
import { sendList } from '../list-query.js';
import { bindingJson, defaultBindingJson, propertiesKey } from '../resources.js';

/** The bindings of a vhost as RabbitMQ lists them: the default exchange's implicit ones, then the rest. */
function allBindings(v: VirtualHost): ReturnType<typeof bindingJson>[] {
  const out = [...v.queues.values()].map(defaultBindingJson);
  for (const ex of v.exchanges.values()) for (const b of ex.bindings()) out.push(bindingJson(b));
  return out;
}

/**
 * Bindings: list; between an exchange and a queue (…/e/{source}/q/{dest}) or another exchange
 * (…/e/{source}/e/{dest}): list and create; one binding by its properties key: show and delete.
 */
export function bindingRoutes(app: Hono<ApiEnv>, ctx: ApiContext): void {
  app.get('/api/bindings', (c) => {
    const p = c.get('principal');
    return sendList(c, [...ctx.broker.vhosts.values()].filter((v) => p.canSeeVhost(v.name)).flatMap(allBindings));
  });
  app.get('/api/bindings/:vhost', (c) => {
    const v = vhostParam(c, ctx);
    c.get('principal').requireRead(v.name);
    return sendList(c, allBindings(v));
  });

  interface Pair { v: VirtualHost; source: Exchange; dest: Destination; kind: 'q' | 'e' }
  const pair = (c: ApiCtx, write: boolean): Pair => {
    const v = vhostParam(c, ctx);
    const p = c.get('principal');
    if (write) p.requireWrite(v.name);
    else p.requireRead(v.name);
    const source = v.exchanges.get(exchangeNameParam(c.req.param('source')));
    const kind = c.req.param('kind') === 'q' ? 'q' : 'e';
    const destName = c.req.param('dest') ?? '';
    const dest = kind === 'q' ? v.queues.get(destName) : v.exchanges.get(exchangeNameParam(destName));
    if (!source || !dest) throw notFound();
    return { v, source, dest, kind };
  };
  const between = ({ source, dest }: Pair): Binding[] => [...source.bindings()].filter((b) => b.destination === dest);
  const one = (c: ApiCtx, pr: Pair): Binding => {
    const props = c.req.param('props');
    const b = between(pr).find((x) => propertiesKey(x.routingKey, tableToJson(x.arguments)) === props);
    if (!b) throw notFound();
    return b;
  };

  const base = '/api/bindings/:vhost/e/:source/:kind{q|e}/:dest';
  app.get(base, (c) => sendList(c, between(pair(c, false)).map(bindingJson)));
  app.post(base, async (c) => {
    const pr = pair(c, true);
    const body = await jsonBody(c);
    const routingKey = stringField(body, 'routing_key', '');
    const args = jsonToTable(body.arguments, 'arguments');
    checkBind(accessOf(c, ctx, pr.v.name), pr, routingKey);
    pr.v.bind(pr.source, pr.dest, routingKey, args);
    const key = propertiesKey(routingKey, tableToJson(args));
    const enc = encodeURIComponent;
    const sourceName = pr.source.name === '' ? 'amq.default' : pr.source.name;
    c.header('Location', `/api/bindings/${enc(pr.v.name)}/e/${enc(sourceName)}/${pr.kind}/${enc(pr.dest.name)}/${enc(key)}`);
    return c.body(null, 201);
  });
  app.get(`${base}/:props`, (c) => c.json(bindingJson(one(c, pair(c, false)))));
  app.delete(`${base}/:props`, (c) => {
    const pr = pair(c, true);
    const b = one(c, pr);
    checkBind(accessOf(c, ctx, pr.v.name), pr, b.routingKey);
    pr.v.unbind(b.source, b.destination, b.routingKey, b.arguments);
    return c.body(null, 204);
  });
}

/** queue.bind / exchange.bind as RabbitMQ checks them: write on the destination, read on the source (and its topic read permission). */
function checkBind(access: VhostAccess, pr: { source: Exchange; dest: Destination; kind: 'q' | 'e' }, routingKey: string): void {
  access.check('write', pr.kind === 'q' ? 'queue' : 'exchange', pr.dest.name);
  access.check('read', 'exchange', pr.source.name);
  if (pr.source.type === 'topic') access.checkTopic('read', pr.source.name, routingKey);
}
