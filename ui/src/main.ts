/**
 * The web UI's shell: login, hash routes (#/queues, #/queues/%2F/jobs, …), the poll loop, the
 * alarm badges in the header, and the error banner. Each page builds its forms once and refreshes
 * its data at every poll, so typing into a form survives a refresh.
 */
import type { NodeInfo } from './api.js';
import { ApiError, api, clearCredentials, currentUser, get, hasCredentials, setCredentials, setUnauthorisedHandler } from './api.js';
import { app } from './app.js';
import { badge, fill, h } from './dom.js';
import { fmtBytes } from './format.js';
import { channelsPage, connectionsPage, usersPage, vhostsPage } from './pages/objects.js';
import { exchangePage, exchangesPage } from './pages/exchanges.js';
import { overviewPage } from './pages/overview.js';
import { policiesPage } from './pages/policies.js';
import { queuePage } from './pages/queue.js';
import { queuesPage } from './pages/queues.js';
import { tracePage } from './pages/trace.js';

/** A page: built once into `root`, then refreshed at every poll; `leave` when another replaces it. */
export interface Page {
  refresh(): Promise<void>;
  /** Ends what outlives a poll (the trace page's open stream). */
  leave?(): void;
}
type PageFactory = (root: HTMLElement, params: string[]) => Page;

const ROUTES: [RegExp, string, string, PageFactory][] = [
  [/^$/, 'Overview', 'overview', overviewPage],
  [/^connections$/, 'Connections', 'connections', connectionsPage],
  [/^channels$/, 'Channels', 'channels', channelsPage],
  [/^exchanges$/, 'Exchanges', 'exchanges', exchangesPage],
  [/^exchanges\/([^/]+)\/([^/]*)$/, 'Exchange', 'exchanges', exchangePage],
  [/^queues$/, 'Queues', 'queues', queuesPage],
  [/^queues\/([^/]+)\/([^/]+)$/, 'Queue', 'queues', queuePage],
  [/^vhosts$/, 'Virtual hosts', 'vhosts', vhostsPage],
  [/^users$/, 'Users', 'users', usersPage],
  [/^policies$/, 'Policies', 'policies', policiesPage],
  [/^trace$/, 'Trace', 'trace', tracePage],
  [/^trace\/([^/]+)\/([^/]+)$/, 'Trace', 'trace', tracePage],
];

const REFRESH_KEY = 'warren.refresh';
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

let page: Page | undefined;
let pollTimer: number | undefined;
let pollSeq = 0;

// ---- error banner ----

/** Shows an API error at the top of the page; `fromPoll` errors clear themselves on the next good poll. */
function showError(err: unknown, fromPoll = false): void {
  const banner = $('banner');
  const msg = err instanceof ApiError ? err.message : `Unexpected error: ${(err as Error).message ?? String(err)}`;
  banner.dataset.fromPoll = String(fromPoll);
  fill(banner, h('p', null, msg), h('button', { type: 'button', class: 'link', onclick: () => clearError() }, 'Dismiss'));
  banner.hidden = false;
}

function clearError(onlyPoll = false): void {
  const banner = $('banner');
  if (onlyPoll && banner.dataset.fromPoll !== 'true') return;
  banner.hidden = true;
  banner.replaceChildren();
}

// ---- login ----

function showLogin(reason?: string): void {
  stopPolling();
  leavePage();
  $('app').hidden = true;
  $('login').hidden = false;
  const status = $('login-status');
  status.textContent = reason ?? '';
  status.hidden = !reason;
  $<HTMLInputElement>('login-user').focus();
}

async function login(ev: Event): Promise<void> {
  ev.preventDefault();
  const user = $<HTMLInputElement>('login-user').value;
  const password = $<HTMLInputElement>('login-password').value;
  setCredentials(user, password);
  try {
    await api('GET', '/api/whoami');
  } catch (err) {
    clearCredentials();
    showLogin(err instanceof ApiError && err.status === 401 ? `Login failed: ${err.reason}` : (err as Error).message);
    return;
  }
  $<HTMLInputElement>('login-password').value = '';
  start();
}

function logout(): void {
  clearCredentials();
  leavePage();
  $('main').replaceChildren();
  showLogin();
}

// ---- routing and polling ----

function leavePage(): void {
  const leaving = page;
  page = undefined;
  leaving?.leave?.();
}

function route(): void {
  leavePage();
  const hash = decodeHash();
  const found = ROUTES.map((r) => [r, r[0].exec(hash)] as const).find(([, m]) => m);
  const main = $('main');
  main.replaceChildren();
  clearError();
  for (const a of document.querySelectorAll<HTMLAnchorElement>('#nav a')) {
    if (a.dataset.nav === (found?.[0][2] ?? '')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!found) {
    page = undefined;
    main.appendChild(h('h1', null, 'Not found'));
    main.appendChild(h('p', null, 'No page here. ', h('a', { href: '#/' }, 'Back to the overview')));
    document.title = 'Not found · Warren';
    return;
  }
  const [[, title, , factory], m] = found;
  document.title = `${title} · Warren`;
  // Path segments stay percent-encoded in the hash; pages decode them.
  page = factory(main, m!.slice(1).map((s) => decodeURIComponent(s)));
  main.focus({ preventScroll: true });
  void poll();
}

function decodeHash(): string {
  const raw = location.hash.replace(/^#\/?/, '');
  return raw.replace(/\/$/, '');
}

async function poll(): Promise<void> {
  stopPolling();
  const seq = ++pollSeq;
  const current = page;
  try {
    await Promise.all([current?.refresh(), refreshAlarms()]);
    if (seq === pollSeq) clearError(true);
  } catch (err) {
    if (seq === pollSeq && !(err instanceof ApiError && err.status === 401)) showError(err, true);
  }
  if (seq !== pollSeq || !hasCredentials()) return;
  const ms = Number($<HTMLSelectElement>('refresh').value);
  if (ms > 0) pollTimer = window.setTimeout(() => void poll(), ms);
}

function stopPolling(): void {
  if (pollTimer !== undefined) window.clearTimeout(pollTimer);
  pollTimer = undefined;
}


// ---- header: node and alarms ----

let nodesForbidden = false;

async function refreshAlarms(): Promise<void> {
  const el = $('alarms');
  if (nodesForbidden) return;
  let nodes: NodeInfo[];
  try {
    nodes = await get<NodeInfo[]>('/api/nodes');
  } catch (err) {
    // Only monitoring and administrator users may read the node; others just see no badges.
    if (err instanceof ApiError && err.status === 403) {
      nodesForbidden = true;
      fill(el, badge('alarms: not visible to this user', 'muted'));
      return;
    }
    throw err;
  }
  const n = nodes[0];
  if (!n) return;
  const items = [];
  if (n.mem_alarm) items.push(badge('Memory alarm: publishers blocked', 'alarm', `${fmtBytes(n.mem_used)} used, limit ${fmtBytes(n.mem_limit)}`));
  if (n.disk_free_alarm) items.push(badge('Disk alarm: publishers blocked', 'alarm', `${fmtBytes(n.disk_free)} free, limit ${fmtBytes(n.disk_free_limit)}`));
  if (items.length === 0) items.push(badge('No alarms', 'ok', 'Memory and disk are within their limits'));
  fill(el, items);
}

// ---- start ----

function start(): void {
  $('login').hidden = true;
  $('login-status').textContent = '';
  $('app').hidden = false;
  $('who').textContent = currentUser();
  nodesForbidden = false;
  route();
}

function init(): void {
  app.refresh = () => void poll();
  app.error = (err) => showError(err);
  setUnauthorisedHandler((err) => {
    clearCredentials();
    showLogin(`Please log in again (${err.reason}).`);
  });
  $('login-form').addEventListener('submit', (ev) => void login(ev));
  $('logout').addEventListener('click', logout);
  const refresh = $<HTMLSelectElement>('refresh');
  refresh.value = sessionStorage.getItem(REFRESH_KEY) ?? '5000';
  refresh.addEventListener('change', () => {
    sessionStorage.setItem(REFRESH_KEY, refresh.value);
    void poll();
  });
  window.addEventListener('hashchange', () => { if (hasCredentials()) route(); });
  if (hasCredentials()) start();
  else showLogin();
}

init();
