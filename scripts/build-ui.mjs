#!/usr/bin/env node
// Copies the web UI's static files (index.html, style.css, favicon.svg) beside the modules that
// `tsc -p ui/tsconfig.json` compiled into dist/ui. No bundler: the browser loads the ES modules as they are.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'ui');
mkdirSync(out, { recursive: true });
for (const file of ['index.html', 'style.css', 'favicon.svg']) copyFileSync(join(root, 'ui', file), join(out, file));
