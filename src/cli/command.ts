/**
 * What an admin command is: its words, arguments and options, declared as data so that parsing,
 * checking and the usage text all come from one description and cannot disagree.
 */
import { UsageError } from './args.js';
import type { AdminClient } from './http-client.js';
import { formatTable } from './table.js';

export interface OptionSpec {
  name: string;
  /** A flag without value (`--durable`); otherwise the option takes one, named by `value`. */
  boolean?: boolean;
  /** How the value shows in the usage line: `--type T`. */
  value?: string;
  required?: boolean;
}

export interface CommandSpec {
  /** The command's words: ['declare', 'queue']. */
  words: string[];
  /** Positional arguments: 'NAME' required, '[FILE]' optional. */
  args?: string[];
  options?: OptionSpec[];
  summary: string;
  run(ctx: CommandContext): Promise<void>;
}

/** Every command's --vhost: RabbitMQ's default vhost unless given. */
export const VHOST: OptionSpec = { name: 'vhost', value: 'V' };

export function usageLine(spec: CommandSpec): string {
  const parts = ['warren', ...spec.words, ...(spec.args ?? [])];
  for (const o of spec.options ?? []) {
    const text = o.boolean ? `--${o.name}` : `--${o.name} ${o.value ?? 'VALUE'}`;
    parts.push(o.required ? text : `[${text}]`);
  }
  return parts.join(' ');
}

/** What a running command sees: its arguments and options, checked; the client; output. */
export class CommandContext {
  readonly spec: CommandSpec;
  readonly client: AdminClient;
  /** --json: print the API's JSON instead of tables and messages. */
  readonly json: boolean;
  readonly #args: Map<string, string>;
  readonly #options: Map<string, string | boolean>;
  readonly #write: (text: string) => void;

  constructor(spec: CommandSpec, client: AdminClient, args: Map<string, string>, options: Map<string, string | boolean>,
    json: boolean, write: (text: string) => void) {
    this.spec = spec;
    this.client = client;
    this.#args = args;
    this.#options = options;
    this.json = json;
    this.#write = write;
  }

  /** A positional argument by its name in the spec (without brackets). */
  arg(name: string): string | undefined {
    return this.#args.get(name);
  }

  /** A value option, or undefined when not given. */
  opt(name: string): string | undefined {
    const v = this.#options.get(name);
    return typeof v === 'string' ? v : undefined;
  }

  flag(name: string): boolean | undefined {
    const v = this.#options.get(name);
    return typeof v === 'boolean' ? v : undefined;
  }

  get vhost(): string {
    return this.opt('vhost') ?? '/';
  }

  /** A usage error about this command: exit 2 with its usage line. */
  usage(message: string): UsageError {
    return new UsageError(message, usageLine(this.spec));
  }

  print(text: string): void {
    this.#write(text.endsWith('\n') ? text : `${text}\n`);
  }

  printJson(value: unknown): void {
    this.print(JSON.stringify(value, null, 2));
  }

  /** A list: JSON as the API gave it, or a table of `--columns` (or the kind's defaults). */
  printList(rows: unknown, defaultColumns: readonly string[]): void {
    if (this.json) return this.printJson(rows);
    const list = Array.isArray(rows) ? rows : [];
    const columns = this.opt('columns')?.split(',').map((c) => c.trim()).filter((c) => c !== '') ?? defaultColumns;
    if (columns.length === 0) throw this.usage('--columns: name at least one field');
    this.print(formatTable(list, columns));
  }

  /** A confirmation for a command whose API answer is empty; nothing in --json mode, so scripts read only JSON. */
  done(message: string): void {
    if (!this.json) this.print(message);
  }
}

/** "queue 'jobs' in vhost '/'": names an object in messages. */
export function describe(kind: string, name: string, vhost?: string): string {
  return vhost === undefined ? `${kind} '${name}'` : `${kind} '${name}' in vhost '${vhost}'`;
}

/** All of stdin as UTF-8 text: a payload or a definitions file piped in. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
