import type { Hono } from 'hono';
import type { Exchange } from '../../core/exchange/exchange.js';
import type { VirtualHost } from '../../core/vhost.js';
import type { ApiContext, ApiCtx, ApiEnv } from '../api-context.js';
import { accessOf, boolField, declarableName, exchangeNameParam, jsonBody, queryFlag, stringField, vhostParam } from '../api-context.js';
import { HttpError, notFound } from '../errors.js';
import { jsonToTable } from '../json-values.js';
import { sendList } from '../list-query.js';
import { bindingJson, exchangeJson } from '../resources.js';
import { publishFromJson } from './messages.js';

/** Exchanges: list, show, declare, delete, their bindings, and publishing through one. */
export function exchangeRoutes(app: Hono<ApiEnv>, ctx: ApiContext): void {
  const exchangeParam = (c: ApiCtx, v: VirtualHost): Exchange => {
    const ex = v.exchanges.get(exchangeNameParam(c.req.param('name')));
    if (!ex) throw notFound();
    return ex;
  };
  /** The vhost of the path, readable by the user. */
  const readable = (c: ApiCtx): VirtualHost => {
    const v = vhostParam(c, ctx);
    c.get('principal').requireRead(v.name);
    return v;
  };

  app.get('/api/exchanges', (c) => {
    const p = c.get('principal');
    const all = [...ctx.broker.vhosts.values()].filter((v) => p.canSeeVhost(v.name)).flatMap((v) => [...v.exchanges.values()]);
    return sendList(c, all.map(exchangeJson));
  });
  app.get('/api/exchanges/:vhost', (c) => sendList(c, [...readable(c).exchanges.values()].map(exchangeJson)));
  app.get('/api/exchanges/:vhost/:name', (c) => c.json(exchangeJson(exchangeParam(c, readable(c)))));

  app.put('/api/exchanges/:vhost/:name', async (c) => {
    const v = vhostParam(c, ctx);
    c.get('principal').requireWrite(v.name);
    const body = await jsonBody(c);
    const name = declarableName(exchangeNameParam(c.req.param('name')), 'exchange');
    const existed = v.exchanges.has(name);
    const args = jsonToTable(body.arguments, 'arguments');
    accessOf(c, ctx, v.name).checkExchangeDeclare(name, args, !existed);
    // As RabbitMQ's API: type is required; durable defaults to true, the other flags to false.
    v.declareExchange(name, stringField(body, 'type'), {
      durable: boolField(body, 'durable', true),
      autoDelete: boolField(body, 'auto_delete', false),
      internal: boolField(body, 'internal', false),
      arguments: args,
    }, false);
    return c.body(null, existed ? 204 : 201);
  });

  app.delete('/api/exchanges/:vhost/:name', (c) => {
    const v = vhostParam(c, ctx);
    c.get('principal').requireWrite(v.name);
    const ex = exchangeParam(c, v);
    accessOf(c, ctx, v.name).check('configure', 'exchange', ex.name);
    v.deleteExchange(ex.name, queryFlag(c, 'if-unused'));
    return c.body(null, 204);
  });

  app.get('/api/exchanges/:vhost/:name/bindings/source', (c) => {
    const ex = exchangeParam(c, readable(c));
    return sendList(c, [...ex.bindings()].map(bindingJson));
  });
  app.get('/api/exchanges/:vhost/:name/bindings/destination', (c) => {
    const ex = exchangeParam(c, readable(c));
    return sendList(c, [...ex.inbound].map(bindingJson));
  });

  app.post('/api/exchanges/:vhost/:name/publish', async (c) => {
    const v = vhostParam(c, ctx);
    c.get('principal').requireWrite(v.name);
    const ex = exchangeParam(c, v);
    const body = await jsonBody(c);
    const access = accessOf(c, ctx, v.name);
    access.checkPublish(ex.name);
    if (ex.type === 'topic') access.checkTopic('write', ex.name, typeof body['routing_key'] === 'string' ? body['routing_key'] : '');
    const { routed, durable } = publishFromJson(v, ex, body, c.get('principal').name, ctx.broker.messages.commit);
    if (!(await durable)) throw new HttpError(500, 'internal_server_error', 'the message could not be written to disk');
    return c.json({ routed });
  });
}
