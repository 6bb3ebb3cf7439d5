import type { Hono } from 'hono';
import type { ChannelInfo, ConnectionInfo, ConsumerInfo } from '../../core/connection-registry.js';
import type { ApiContext, ApiCtx, ApiEnv } from '../api-context.js';
import { vhostParam } from '../api-context.js';
import type { Principal } from '../auth.js';
import { forbidden, notFound } from '../errors.js';
import type { Json } from '../json-values.js';
import { tableToJson } from '../json-values.js';
import { sendList } from '../list-query.js';

type Obj = { [key: string]: Json };

/** Connections a user may see: all for administrator and monitoring, else its own (RabbitMQ's rule). */
export function visibleConnections(ctx: ApiContext, p: Principal): ConnectionInfo[] {
  return ctx.connections.list().filter((conn) => p.canSeeConnectionOf(conn.user));
}

/** RabbitMQ's default reason when an operator closes a connection without giving one. */
const DEFAULT_CLOSE_REASON = 'Closed via management plugin';

/** Connections, channels and consumers (read), and closing a connection. */
export function connectionRoutes(app: Hono<ApiEnv>, ctx: ApiContext): void {
  const visible = (c: ApiCtx): ConnectionInfo[] => visibleConnections(ctx, c.get('principal'));
  const find = (c: ApiCtx): ConnectionInfo => {
    const conn = visible(c).find((x) => x.name === c.req.param('name'));
    if (!conn) throw notFound();
    return conn;
  };

  app.get('/api/connections', (c) => sendList(c, visible(c).map((conn) => connectionJson(ctx, conn))));
  app.get('/api/vhosts/:vhost/connections', (c) => {
    const v = vhostParam(c, ctx).name;
    return sendList(c, visible(c).filter((conn) => conn.vhost === v).map((conn) => connectionJson(ctx, conn)));
  });
  app.get('/api/connections/:name', (c) => c.json(connectionJson(ctx, find(c))));
  app.delete('/api/connections/:name', (c) => {
    const conn = find(c);
    const p = c.get('principal');
    // Closing is an action: monitoring alone may look, not close; a management user closes its own.
    if (!p.isAdmin && !(p.mayWrite && conn.user === p.name)) throw forbidden('Not allowed to close this connection');
    const reason = c.req.header('x-reason') || DEFAULT_CLOSE_REASON;
    if (!ctx.connections.close(conn.name, reason)) throw notFound();
    return c.body(null, 204);
  });
  app.get('/api/connections/:name/channels', (c) => {
    const conn = find(c);
    return sendList(c, conn.channels.map((ch) => channelJson(ctx, conn, ch)));
  });

  const allChannels = (c: ApiCtx, vhost?: string): Obj[] =>
    visible(c).filter((conn) => vhost === undefined || conn.vhost === vhost)
      .flatMap((conn) => conn.channels.map((ch) => channelJson(ctx, conn, ch)));
  app.get('/api/channels', (c) => sendList(c, allChannels(c)));
  app.get('/api/vhosts/:vhost/channels', (c) => sendList(c, allChannels(c, vhostParam(c, ctx).name)));
  app.get('/api/channels/:name', (c) => {
    const ch = allChannels(c).find((x) => x.name === c.req.param('name'));
    if (!ch) throw notFound();
    return c.json(ch);
  });

  const consumers = (c: ApiCtx, vhost?: string): Obj[] =>
    visible(c).filter((conn) => vhost === undefined || conn.vhost === vhost)
      .flatMap((conn) => conn.channels.flatMap((ch) => ch.consumers.map((k) => consumerJson(conn, ch, k))));
  app.get('/api/consumers', (c) => sendList(c, consumers(c)));
  app.get('/api/consumers/:vhost', (c) => {
    const v = vhostParam(c, ctx).name;
    c.get('principal').requireRead(v);
    return sendList(c, consumers(c, v));
  });
}

function connectionJson(ctx: ApiContext, conn: ConnectionInfo): Obj {
  return {
    name: conn.name,
    node: ctx.node,
    type: 'network',
    protocol: conn.protocol,
    vhost: conn.vhost ?? null,
    user: conn.user,
    state: conn.state,
    channels: conn.channels.length,
    peer_host: conn.peerHost,
    peer_port: conn.peerPort,
    host: conn.host,
    port: conn.port,
    // RabbitMQ's fields for TLS connections; null on plain TCP.
    ssl: conn.tls !== undefined,
    ssl_protocol: conn.tls?.protocol ?? null,
    ssl_cipher: conn.tls?.cipher ?? null,
    peer_cert_subject: conn.tls?.peerCertSubject ?? null,
    peer_cert_issuer: conn.tls?.peerCertIssuer ?? null,
    auth_mechanism: conn.authMechanism,
    connected_at: conn.connectedAt,
    timeout: conn.timeout,
    frame_max: conn.frameMax,
    channel_max: conn.channelMax,
    client_properties: tableToJson(conn.clientProperties),
    recv_oct: conn.recvOct,
    send_oct: conn.sendOct,
  };
}

function channelName(conn: ConnectionInfo, ch: ChannelInfo): string {
  return `${conn.name} (${ch.number})`;
}

function connectionDetails(conn: ConnectionInfo): Obj {
  return { name: conn.name, peer_host: conn.peerHost, peer_port: conn.peerPort };
}

function channelJson(ctx: ApiContext, conn: ConnectionInfo, ch: ChannelInfo): Obj {
  return {
    name: channelName(conn, ch),
    number: ch.number,
    node: ctx.node,
    vhost: conn.vhost ?? null,
    user: conn.user,
    state: ch.state,
    connection_details: connectionDetails(conn),
    consumer_count: ch.consumers.length,
    messages_unacknowledged: ch.unacknowledged,
    prefetch_count: ch.prefetchCount,
    global_prefetch_count: ch.globalPrefetchCount,
    confirm: ch.confirm,
    transactional: ch.transactional,
  };
}

function consumerJson(conn: ConnectionInfo, ch: ChannelInfo, k: ConsumerInfo): Obj {
  return {
    consumer_tag: k.tag,
    queue: { name: k.queue.name, vhost: k.queue.vhost },
    channel_details: {
      name: channelName(conn, ch), number: ch.number, connection_name: conn.name,
      peer_host: conn.peerHost, peer_port: conn.peerPort, user: conn.user,
    },
    ack_required: k.ackRequired,
    exclusive: k.exclusive,
    prefetch_count: k.prefetchCount,
    active: k.active,
    activity_status: k.active ? 'up' : 'waiting',
    arguments: k.priority !== 0 ? { 'x-priority': k.priority } : {},
  };
}
