import type { Hono } from 'hono';
import { Message } from '../../core/message.js';
import type { Queue } from '../../core/queue/queue.js';
import { encodeProperties } from '../../protocol/amqp/codec/properties.js';
import type { ApiContext, ApiCtx, ApiEnv } from '../api-context.js';
import { vhostParam } from '../api-context.js';
import { notFound } from '../errors.js';

const ALIVENESS_QUEUE = 'aliveness-test';
const ALIVENESS_BODY = 'test_message';

/** 200 {status: ok}, or 503 {status: failed, reason}, as RabbitMQ's health checks answer. */
function verdict(c: ApiCtx, failure: string | undefined, extra: Record<string, unknown> = {}): Response {
  if (failure === undefined) return c.json({ status: 'ok' });
  return c.json({ status: 'failed', reason: failure, ...extra }, 503);
}

/** Health checks: aliveness test, the legacy node check, and the /api/health/checks/* family. */
export function healthRoutes(app: Hono<ApiEnv>, ctx: ApiContext): void {
  const alarmFailure = (): [string | undefined, Record<string, unknown>] => {
    const a = ctx.broker.alarms;
    if (!a || !a.blocked) return [undefined, {}];
    const alarms = [];
    if (a.memoryAlarm) alarms.push({ node: ctx.node, resource: 'memory' });
    if (a.diskAlarm) alarms.push({ node: ctx.node, resource: 'disk' });
    return [`resource alarm(s) in effect: ${a.reason}`, { alarms }];
  };

  /**
   * Declares a queue, publishes one message through the default exchange, gets it back, and
   * deletes the queue: the whole path a client's message takes, in one vhost.
   */
  app.get('/api/aliveness-test/:vhost', (c) => {
    const v = vhostParam(c, ctx);
    c.get('principal').requireRead(v.name);
    const existed = v.queues.has(ALIVENESS_QUEUE);
    let q: Queue | undefined;
    try {
      q = v.declareQueue(ALIVENESS_QUEUE, { durable: false, exclusive: false, autoDelete: false, arguments: {} }, false, null);
      const message = new Message('', ALIVENESS_QUEUE, encodeProperties({}), Buffer.from(ALIVENESS_BODY));
      const targets = new Set<Queue>();
      v.route(v.defaultExchange, message, targets);
      for (const t of targets) t.enqueue(message);
      // A consumer on a pre-existing queue may have taken it: only a queue of our own is checked.
      if (!existed) {
        const entry = q.get();
        if (entry) q.ack(entry);
        if (entry?.message.body.toString() !== ALIVENESS_BODY) return verdict(c, 'aliveness test message did not come back');
      }
      return verdict(c, undefined);
    } catch (err) {
      return verdict(c, `aliveness test failed: ${(err as Error).message}`);
    } finally {
      if (q && !existed) v.deleteQueue(ALIVENESS_QUEUE, false, false, null);
    }
  });

  const nodeCheck = (c: ApiCtx): Response => verdict(c, ...alarmFailure());
  app.get('/api/healthchecks/node', nodeCheck);
  app.get('/api/healthchecks/node/:node', (c) => {
    if (c.req.param('node') !== ctx.node) throw notFound();
    return nodeCheck(c);
  });

  // One node: the cluster-wide and the local alarm checks are the same check.
  app.get('/api/health/checks/alarms', nodeCheck);
  app.get('/api/health/checks/local-alarms', nodeCheck);
  app.get('/api/health/checks/virtual-hosts', (c) => verdict(c, undefined));
  // No quorum queues or mirrors: stopping this node never endangers one.
  app.get('/api/health/checks/node-is-quorum-critical', (c) => verdict(c, undefined));
  app.get('/api/health/checks/node-is-mirror-sync-critical', (c) => verdict(c, undefined));
  app.get('/api/health/checks/port-listener/:port', (c) => {
    const port = Number(c.req.param('port'));
    const ok = ctx.listeners().some((l) => l.port === port);
    return verdict(c, ok ? undefined : `no listener on port ${c.req.param('port')}`, ok ? {} : { missing: port, ports: ctx.listeners().map((l) => l.port) });
  });
  app.get('/api/health/checks/protocol-listener/:protocol', (c) => {
    const wanted = c.req.param('protocol').toLowerCase().replace(/[^a-z0-9]/g, '');
    const ok = ctx.listeners().some((l) => l.protocol.toLowerCase().replace(/[^a-z0-9]/g, '') === wanted || (wanted === 'amqp091' && l.protocol === 'amqp'));
    return verdict(c, ok ? undefined : `no listener for protocol ${c.req.param('protocol')}`);
  });
}
