import type { Hono } from 'hono';
import type { Queue } from '../../core/queue/queue.js';
import type { VirtualHost } from '../../core/vhost.js';
import type { ApiContext, ApiCtx, ApiEnv } from '../api-context.js';
import { accessOf, boolField, declarableName, jsonBody, queryFlag, vhostParam } from '../api-context.js';
import { badRequest, notFound } from '../errors.js';
import { jsonToTable } from '../json-values.js';
import { sendList } from '../list-query.js';
import { bindingJson, defaultBindingJson, queueJson } from '../resources.js';
import { getMessages } from './messages.js';

/**
 * Queues: list, show, declare, delete, purge, get messages, bindings. An operator acts on
 * exclusive queues too (delete, purge, get), as RabbitMQ's management API lets one.
 */
export function queueRoutes(app: Hono<ApiEnv>, ctx: ApiContext): void {
  const queueParam = (c: ApiCtx, v: VirtualHost): Queue => {
    const q = v.queues.get(c.req.param('name') ?? '');
    if (!q) throw notFound();
    return q;
  };
  const readable = (c: ApiCtx): VirtualHost => {
    const v = vhostParam(c, ctx);
    c.get('principal').requireRead(v.name);
    return v;
  };
  const writable = (c: ApiCtx): VirtualHost => {
    const v = vhostParam(c, ctx);
    c.get('principal').requireWrite(v.name);
    return v;
  };

  app.get('/api/queues', (c) => {
    const p = c.get('principal');
    const all = [...ctx.broker.vhosts.values()].filter((v) => p.canSeeVhost(v.name)).flatMap((v) => [...v.queues.values()]);
    return sendList(c, all.map((q) => queueJson(ctx, q)));
  });
  app.get('/api/queues/:vhost', (c) => sendList(c, [...readable(c).queues.values()].map((q) => queueJson(ctx, q))));
  app.get('/api/queues/:vhost/:name', (c) => c.json(queueJson(ctx, queueParam(c, readable(c)))));

  app.put('/api/queues/:vhost/:name', async (c) => {
    const v = writable(c);
    const body = await jsonBody(c);
    const name = declarableName(c.req.param('name'), 'queue');
    // An exclusive queue belongs to a connection; over HTTP there is none to own it (RabbitMQ refuses too).
    if (boolField(body, 'exclusive', false)) throw badRequest('exclusive queues cannot be declared over HTTP');
    const existed = v.queues.has(name);
    const args = jsonToTable(body.arguments, 'arguments');
    accessOf(c, ctx, v.name).checkQueueDeclare(name, args, !existed);
    v.declareQueue(name, {
      durable: boolField(body, 'durable', true),
      exclusive: false,
      autoDelete: boolField(body, 'auto_delete', false),
      arguments: args,
    }, false, null);
    return c.body(null, existed ? 204 : 201);
  });

  app.delete('/api/queues/:vhost/:name', (c) => {
    const v = writable(c);
    const q = queueParam(c, v);
    accessOf(c, ctx, v.name).check('configure', 'queue', q.name);
    v.deleteQueue(q.name, queryFlag(c, 'if-unused'), queryFlag(c, 'if-empty'), q.owner);
    return c.body(null, 204);
  });

  app.delete('/api/queues/:vhost/:name/contents', (c) => {
    const v = writable(c);
    const q = queueParam(c, v);
    accessOf(c, ctx, v.name).check('read', 'queue', q.name);
    q.purge();
    return c.body(null, 204);
  });

  app.post('/api/queues/:vhost/:name/get', async (c) => {
    const v = writable(c);
    const q = queueParam(c, v);
    accessOf(c, ctx, v.name).check('read', 'queue', q.name);
    return c.json(getMessages(v, q, await jsonBody(c), c.get('principal').name));
  });

  app.get('/api/queues/:vhost/:name/bindings', (c) => {
    const q = queueParam(c, readable(c));
    return sendList(c, [defaultBindingJson(q), ...[...q.inbound].map(bindingJson)]);
  });
}
