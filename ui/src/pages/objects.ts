/** Connections (with close), channels, virtual hosts and users: lists read from the API at each poll. */
import type { VhostInfo } from '../api.js';
import { ApiError, api, enc, get, rate } from '../api.js';
import { app } from '../app.js';
import { append, badge, fill, h, table } from '../dom.js';
import { fmtBytes, fmtInt, fmtRate } from '../format.js';

interface ConnectionInfo {
  name: string;
  user: string;
  vhost: string | null;
  state: string;
  channels: number;
  peer_host: string;
  peer_port: number;
  protocol: string;
  connected_at: number;
  timeout: number;
  client_properties: Record<string, unknown>;
  recv_oct: number;
  send_oct: number;
}

interface ChannelInfo {
  name: string;
  user: string;
  vhost: string | null;
  state: string;
  consumer_count: number;
  messages_unacknowledged: number;
  prefetch_count: number;
  confirm: boolean;
  transactional: boolean;
}

interface UserInfo {
  name: string;
  tags: string[];
}

type Page = { refresh(): Promise<void> };

/** A list page: a heading, an optional note, and a table redrawn at each poll. */
function listPage(root: HTMLElement, title: string, note: string | null, load: (slot: HTMLElement) => Promise<void>): Page {
  const slot = h('div');
  append(root, [h('h1', null, title), note ? h('p', { class: 'muted' }, note) : null, slot]);
  return { refresh: () => load(slot) };
}

/** Shows "needs the X tag" instead of an error banner when the user may not see a list. */
async function orForbidden<T>(slot: HTMLElement, p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) {
      fill(slot, h('p', { class: 'banner-inline' }, `Not allowed: ${err.reason}.`));
      return undefined;
    }
    throw err;
  }
}

function client(c: ConnectionInfo): string {
  const p = c.client_properties ?? {};
  const product = typeof p.product === 'string' ? p.product : '';
  const version = typeof p.version === 'string' ? p.version : '';
  return `${product} ${version}`.trim() || '—';
}

export function connectionsPage(root: HTMLElement): Page {
  return listPage(root, 'Connections', null, async (slot) => {
    const conns = await get<ConnectionInfo[]>('/api/connections');
    fill(slot, table([
      { label: 'Name', cell: (c) => h('span', { class: 'mono' }, c.name) },
      { label: 'User', cell: (c) => c.user },
      { label: 'Virtual host', cell: (c) => c.vhost ?? '—' },
      { label: 'Client', cell: client },
      { label: 'State', cell: (c) => badge(c.state, c.state === 'running' ? 'ok' : c.state === 'blocked' || c.state === 'blocking' ? 'alarm' : 'muted') },
      { label: 'Channels', cell: (c) => fmtInt(c.channels), num: true },
      { label: 'Received', cell: (c) => fmtBytes(c.recv_oct), num: true },
      { label: 'Sent', cell: (c) => fmtBytes(c.send_oct), num: true },
      { label: 'Connected', cell: (c) => new Date(c.connected_at).toLocaleTimeString() },
      { label: 'Actions', cell: (c) => h('button', { type: 'button', class: 'danger small', 'aria-label': `Close connection ${c.name}`, onclick: () => closeConnection(c.name) }, 'Close') },
    ], conns, 'Connections', 'No client is connected.'));
  });
}

function closeConnection(name: string): void {
  const reason = window.prompt(`Close connection ${name}? Reason sent to the client:`, 'Closed via management UI');
  if (reason === null) return;
  api('DELETE', `/api/connections/${enc(name)}`, undefined, { 'x-reason': reason }).then(() => app.refresh(), (err: unknown) => app.error(err));
}

export function channelsPage(root: HTMLElement): Page {
  return listPage(root, 'Channels', null, async (slot) => {
    const chans = await get<ChannelInfo[]>('/api/channels');
    fill(slot, table([
      { label: 'Channel', cell: (c) => h('span', { class: 'mono' }, c.name) },
      { label: 'User', cell: (c) => c.user },
      { label: 'Virtual host', cell: (c) => c.vhost ?? '—' },
      { label: 'Mode', cell: (c) => [c.confirm ? badge('confirm', 'muted', 'publisher confirms') : null, c.transactional ? badge('tx', 'muted', 'transactional') : null] },
      { label: 'State', cell: (c) => badge(c.state, c.state === 'running' ? 'ok' : 'muted') },
      { label: 'Consumers', cell: (c) => fmtInt(c.consumer_count), num: true },
      { label: 'Unacked', cell: (c) => fmtInt(c.messages_unacknowledged), num: true },
      { label: 'Prefetch', cell: (c) => (c.prefetch_count === 0 ? 'unlimited' : fmtInt(c.prefetch_count)), num: true },
    ], chans, 'Channels', 'No channels are open.'));
  });
}

export function vhostsPage(root: HTMLElement): Page {
  return listPage(root, 'Virtual hosts', null, async (slot) => {
    const vhosts = await get<VhostInfo[]>('/api/vhosts');
    fill(slot, table([
      { label: 'Name', cell: (v) => v.name },
      { label: 'Ready', cell: (v) => fmtInt(v.messages_ready), num: true },
      { label: 'Unacked', cell: (v) => fmtInt(v.messages_unacknowledged), num: true },
      { label: 'Total', cell: (v) => fmtInt(v.messages), num: true },
      { label: 'Publish', cell: (v) => fmtRate(rate(v.message_stats, 'publish')), num: true },
      { label: 'Deliver / get', cell: (v) => fmtRate(rate(v.message_stats, 'deliver_get')), num: true },
      { label: 'Ack', cell: (v) => fmtRate(rate(v.message_stats, 'ack')), num: true },
    ], vhosts, 'Virtual hosts'));
  });
}

export function usersPage(root: HTMLElement): Page {
  return listPage(root, 'Users', 'Passwords are stored as hashes and never shown. Only administrators see this list.', async (slot) => {
    const users = await orForbidden(slot, get<UserInfo[]>('/api/users'));
    if (!users) return;
    fill(slot, table([
      { label: 'Name', cell: (u) => u.name },
      { label: 'Tags', cell: (u) => (u.tags.length ? u.tags.map((t) => badge(t, t === 'administrator' ? 'warn' : 'muted')) : '—') },
    ], users, 'Users'));
  });
}
