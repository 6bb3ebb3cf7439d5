/** A few DOM helpers: elements from data (text is always set as text, never parsed as HTML), tables, forms. */

export type Child = Node | string | number | null | undefined | false | Child[];
type AttrValue = string | number | boolean | null | undefined | ((ev: Event) => void);
export type Attrs = Record<string, AttrValue>;

/** `h('a', { href: '#/' }, 'Home')`: attributes, `on<event>` listeners, and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

export interface Column<T> {
  label: string;
  cell: (row: T) => Child;
  /** Right-aligned, tabular figures. */
  num?: boolean;
  /** Explains the column (shown on hover and read by screen readers). */
  title?: string;
}

/** A table in a horizontally scrolling wrapper (narrow screens scroll the table, not the page). */
export function table<T>(columns: Column<T>[], rows: T[], caption: string, empty = 'Nothing here yet.'): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  const head = h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null, title: c.title }, c.label)));
  const body = rows.map((r) => h('tr', null, columns.map((c) => h('td', { class: c.num ? 'num' : null }, c.cell(r)))));
  return h('div', { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: 0 },
    h('table', null, h('caption', { class: 'visually-hidden' }, caption), h('thead', null, head), h('tbody', null, body)));
}

/** A labelled form field; the control gets an id so the label points at it. */
let fieldSeq = 0;
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  const id = control.id || `f${++fieldSeq}`;
  control.id = id;
  const hintEl = hint ? h('small', { id: `${id}-hint`, class: 'hint' }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  if (control instanceof HTMLInputElement && control.type === 'checkbox') {
    return h('div', { class: 'field check' }, control, h('label', { for: id }, label), hintEl);
  }
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hintEl);
}

export function select(name: string, options: (string | [string, string])[], value?: string): HTMLSelectElement {
  const s = h('select', { name });
  for (const o of options) {
    const [v, text] = Array.isArray(o) ? o : [o, o];
    s.appendChild(h('option', { value: v, selected: v === value }, text));
  }
  return s;
}

/** A status line under a form: polite live region, `ok` or `error` styling. */
export function statusLine(): { el: HTMLElement; ok(text: string): void; error(text: string): void; clear(): void } {
  const el = h('p', { class: 'form-status', role: 'status', 'aria-live': 'polite' });
  return {
    el,
    ok(text) {
      el.className = 'form-status ok';
      el.textContent = text;
    },
    error(text) {
      el.className = 'form-status error';
      el.textContent = text;
    },
    clear() {
      el.className = 'form-status';
      el.textContent = '';
    },
  };
}

/**
 * Runs a form's action with the button disabled meanwhile; its error goes to the status line.
 * Returns the submit handler to attach.
 */
export function onSubmit(form: HTMLFormElement, status: ReturnType<typeof statusLine>, action: () => Promise<string | void>): void {
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const buttons = [...form.querySelectorAll('button')];
    buttons.forEach((b) => (b.disabled = true));
    status.clear();
    action().then((msg) => { if (msg) status.ok(msg); }, (err: unknown) => status.error((err as Error).message))
      .finally(() => buttons.forEach((b) => (b.disabled = false)));
  });
}

/** A small badge: `kind` is ok, warn, alarm or muted. */
export function badge(text: string, kind: 'ok' | 'warn' | 'alarm' | 'muted' = 'muted', title?: string): HTMLElement {
  return h('span', { class: `badge ${kind}`, title }, text);
}

/** "#/queues/%2F/jobs" for a queue. */
export function link(text: string, href: string): HTMLAnchorElement {
  return h('a', { href }, text);
}

/** A definition list from label/value pairs. */
export function details(pairs: [string, Child][]): HTMLElement {
  return h('dl', { class: 'details' }, pairs.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

/** JSON arguments as compact text ("—" when empty). */
export function argsText(args: Record<string, unknown> | undefined): string {
  if (!args || Object.keys(args).length === 0) return '—';
  return Object.entries(args).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ');
}
