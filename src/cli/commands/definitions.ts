/** Definitions export and import, in RabbitMQ's file format (so files move between the two). */
import { readFile, writeFile } from 'node:fs/promises';
import type { CommandSpec } from '../command.js';
import { readStdin, VHOST } from '../command.js';
import { enc } from '../http-client.js';

function definitionsPath(vhost: string | undefined): string {
  return vhost === undefined ? '/api/definitions' : `/api/definitions/${enc(vhost)}`;
}

const exportDefinitions: CommandSpec = {
  words: ['export'],
  args: ['[FILE]'],
  options: [VHOST],
  summary: 'write the definitions (users, vhosts, permissions, policies, queues, exchanges, bindings) to FILE, or stdout',
  async run(ctx) {
    const vhost = ctx.opt('vhost');
    const defs = await ctx.client.request('GET', definitionsPath(vhost), { what: vhost === undefined ? undefined : `vhost '${vhost}'` });
    const text = `${JSON.stringify(defs, null, 2)}\n`;
    const file = ctx.arg('FILE');
    if (file === undefined || file === '-') return ctx.print(text);
    try {
      await writeFile(file, text);
    } catch (err) {
      throw new Error(`cannot write ${file}: ${(err as Error).message}`);
    }
    ctx.done(`exported definitions${vhost === undefined ? '' : ` of vhost '${vhost}'`} to ${file}`);
  },
};

function readSource(file: string): Promise<string> {
  return file === '-' ? readStdin() : readFile(file, 'utf8');
}

const importDefinitions: CommandSpec = {
  words: ['import'],
  args: ['FILE'],
  options: [VHOST],
  summary: 'load definitions from FILE (- for stdin): adds what is missing; an existing object must match its definition',
  async run(ctx) {
    const file = ctx.arg('FILE')!;
    let text: string;
    try {
      text = await readSource(file);
    } catch (err) {
      throw new Error(`cannot read ${file}: ${(err as Error).message}`);
    }
    let defs: unknown;
    try {
      defs = JSON.parse(text);
    } catch (err) {
      // Checked here so the message names the file, not just "body is not valid JSON".
      throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
    }
    const vhost = ctx.opt('vhost');
    await ctx.client.request('POST', definitionsPath(vhost), { body: defs, what: `importing ${file}` });
    ctx.done(`imported definitions from ${file}${vhost === undefined ? '' : ` into vhost '${vhost}'`}`);
  },
};

export const definitionCommands: CommandSpec[] = [exportDefinitions, importDefinitions];
