/**
 * Command-line parsing for the admin commands: words (`list queues NAME`) and `--name value`
 * options. Kept apart from the commands so the rules (what takes a value, `--`, `--no-x`) are one
 * place and unit-testable.
 */

/** A mistake in how the command was typed: exit code 2, with the command's usage line. */
export class UsageError extends Error {
  /** The usage line of the command it concerns, when known. */
  readonly usage: string | undefined;

  constructor(message: string, usage?: string) {
    super(message);
    this.name = 'UsageError';
    this.usage = usage;
  }
}

export interface ParsedArgs {
  /** The words that are not options, in order: the command, then its arguments. */
  positionals: string[];
  /**
   * Options before the first word (`warren --url U list queues`), by name without the dashes: a
   * string for value options, a boolean for flags. Kept apart because `--user` and `--password`
   * there are the connection's, while after `add user` or `set permissions` they are the command's.
   */
  leading: Map<string, string | boolean>;
  /** Options after the first word. */
  options: Map<string, string | boolean>;
}

/**
 * Splits argv. `booleans` names the flags, which take no value (`--durable`, `--durable=false`,
 * `--no-durable`); every other option takes the next word as its value even when it starts with
 * `-`, so `--payload -1` works (an option that ends argv without its value comes out as `true`).
 * `--` ends the options, for a queue named `--odd`.
 * An option given twice is refused rather than silently taking one of them.
 */
export function parseArgs(argv: readonly string[], booleans: ReadonlySet<string>): ParsedArgs {
  const positionals: string[] = [];
  const leading = new Map<string, string | boolean>();
  const options = new Map<string, string | boolean>();
  const set = (name: string, value: string | boolean): void => {
    const into = positionals.length === 0 ? leading : options;
    if (into.has(name)) throw new UsageError(`--${name} given twice`);
    into.set(name, value);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (name === '') throw new UsageError(`bad option '${arg}'`);
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    if (booleans.has(name)) {
      set(name, inline === undefined ? true : parseBoolean(name, inline));
    } else if (name.startsWith('no-') && booleans.has(name.slice(3)) && inline === undefined) {
      set(name.slice(3), false);
    } else if (inline !== undefined) {
      set(name, inline);
    } else {
      const value = argv[++i];
      // Last word and no value: kept as `true` for the caller, which knows the option set and so
      // can say "unknown option --colour" rather than "--colour needs a value".
      set(name, value === undefined ? true : value);
    }
  }
  return { positionals, leading, options };
}

function parseBoolean(name: string, text: string): boolean {
  if (/^(true|yes|1)$/i.test(text)) return true;
  if (/^(false|no|0)$/i.test(text)) return false;
  throw new UsageError(`--${name}: '${text}' is not true or false`);
}

/** A JSON option's value, which must be an object (arguments, properties, definitions). */
export function jsonObjectOption(name: string, text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--${name}: not valid JSON (${(err as Error).message})`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`--${name}: expected a JSON object like {"key": "value"}`);
  return parsed as Record<string, unknown>;
}

/** A whole-number option (count, priority); `min` is the smallest accepted. */
export function integerOption(name: string, text: string, min: number): number {
  if (!/^-?\d+$/.test(text.trim()) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`--${name}: '${text}' is not a whole number${min > Number.MIN_SAFE_INTEGER ? ` of at least ${min}` : ''}`);
  }
  return Number(text);
}
