import type { ApiCtx } from './api-context.js';
import { badRequest } from './errors.js';
import type { Json } from './json-values.js';

type Item = { [key: string]: Json };

/**
 * Sends a list with RabbitMQ's query options applied: `sort` / `sort_reverse` (a field, dotted
 * for nested ones), `columns` (keep only these fields), and pagination (`page`, `page_size`,
 * `name` with optional `use_regex`), which answers RabbitMQ's paged object instead of an array.
 */
export function sendList(c: ApiCtx, items: Item[]): Response {
  const q = (k: string): string | undefined => c.req.query(k);
  let list = items;
  const sort = q('sort');
  if (sort) {
    const path = sort.split('.');
    list = [...list].sort((a, b) => compare(pick(a, path), pick(b, path)));
    if (q('sort_reverse') === 'true') list.reverse();
  }
  const columns = q('columns');
  const project = (arr: Item[]): Item[] => (columns ? arr.map((i) => projectColumns(i, columns)) : arr);
  const page = q('page');
  if (page === undefined) return c.json(project(list));
  const pageNumber = positiveInt(page, 'page');
  const pageSize = q('page_size') === undefined ? 100 : positiveInt(q('page_size')!, 'page_size');
  if (pageSize > 500) throw badRequest('page_size must be at most 500');
  const name = q('name');
  let filtered = list;
  if (name) {
    let test: (s: string) => boolean;
    if (q('use_regex') === 'true') {
      let re: RegExp;
      try {
        re = new RegExp(name);
      } catch {
        throw badRequest(`name: invalid regular expression ${JSON.stringify(name)}`);
      }
      test = (s) => re.test(s);
    } else test = (s) => s.includes(name);
    filtered = list.filter((i) => typeof i.name === 'string' && test(i.name));
  }
  const pageCount = Math.max(1, Math.ceil(filtered.length / pageSize));
  if (pageNumber > pageCount) throw badRequest(`page ${pageNumber} is past the last page (${pageCount})`);
  const pageItems = filtered.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
  return c.json({
    filtered_count: filtered.length, item_count: pageItems.length, items: project(pageItems),
    page: pageNumber, page_count: pageCount, page_size: pageSize, total_count: list.length,
  });
}

function positiveInt(text: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw badRequest(`${what} must be a positive integer`);
  return Number(text);
}

function pick(item: Item, path: string[]): Json | undefined {
  let v: Json | undefined = item;
  for (const p of path) v = v !== null && typeof v === 'object' && !Array.isArray(v) ? v[p] : undefined;
  return v;
}

function compare(a: Json | undefined, b: Json | undefined): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = a === undefined ? '' : String(a);
  const y = b === undefined ? '' : String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** `columns=name,message_stats.publish`: nested fields keep their nesting. */
function projectColumns(item: Item, columns: string): Item {
  const out: Item = {};
  for (const col of columns.split(',')) {
    const path = col.trim().split('.');
    const v = pick(item, path);
    if (v === undefined) continue;
    let target = out;
    for (const p of path.slice(0, -1)) target = (target[p] ??= {}) as Item;
    target[path[path.length - 1]!] = v;
  }
  return out;
}
