/**
 * The web UI's static files (dist/ui: index.html, style.css, the compiled ES modules), served by
 * the management server outside /api. The files are read once, when the server starts: a handful
 * of small files, so every request is a map lookup (no path ever reaches the file system, so no
 * traversal), with an ETag for revalidation.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import type { ApiEnv } from './api-context.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

/**
 * The UI's own policy: scripts and styles from this origin only, API calls to it, no framing.
 * Inline SVG built with DOM calls needs nothing more; `data:` images cover the favicon.
 */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

interface StaticFile {
  body: Uint8Array<ArrayBuffer>;
  type: string;
  etag: string;
}

/** dist/ui beside dist/src (this file is dist/src/http/static-ui.js once built). */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../ui/', import.meta.url));

/** Every file under `dir` by URL path ("/index.html", "/pages/queues.js"); empty when the UI is not built. */
export function loadUiFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else {
        const type = CONTENT_TYPES[extname(name)];
        if (!type) continue; // source maps, declaration files: not served
        const body = new Uint8Array(readFileSync(full)); // its own ArrayBuffer, as hono's body type wants
        const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
        files.set(`/${relative(dir, full).split(sep).join('/')}`, { body, type, etag });
      }
    }
  };
  walk(dir);
  return files;
}

/**
 * GET/HEAD for the UI's files; `/` is index.html. Files are revalidated on every load
 * (`no-cache` with an ETag: 304 when unchanged), so an upgraded broker never runs a stale UI;
 * the cost is one small request per file per page load.
 */
export function staticUiRoutes(app: Hono<ApiEnv>, dir = DEFAULT_UI_DIR): void {
  const files = loadUiFiles(dir);
  app.on(['GET', 'HEAD'], '*', async (c, next) => {
    const path = c.req.path === '/' ? '/index.html' : c.req.path;
    if (path.startsWith('/api/')) return next();
    const file = files.get(path);
    if (!file) {
      if (path === '/index.html') {
        return c.text('The web UI is not built: run `npm run build` (the management API is under /api/).', 404);
      }
      return next();
    }
    c.header('Cache-Control', 'no-cache');
    c.header('ETag', file.etag);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    if (file.type.startsWith('text/html')) {
      c.header('Content-Security-Policy', CSP);
      c.header('X-Frame-Options', 'DENY');
    }
    const inm = c.req.header('if-none-match');
    if (inm && inm.split(',').some((t) => t.trim() === file.etag)) return c.body(null, 304);
    c.header('Content-Type', file.type);
    c.header('Content-Length', String(file.body.length));
    if (c.req.method === 'HEAD') return c.body(null, 200);
    return c.body(file.body, 200);
  });
}
