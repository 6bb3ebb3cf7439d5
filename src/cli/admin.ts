/**
 * The admin commands' dispatcher: finds the command named by the first words, checks its
 * arguments and options against its spec, connects, and runs it. Failures are thrown: a
 * UsageError (exit 2) for a mistyped command, anything else (exit 1) for a failed operation.
 */
import { parseArgs, UsageError } from './args.js';
import type { CommandSpec } from './command.js';
import { CommandContext, usageLine } from './command.js';
import { accessCommands } from './commands/access.js';
import { connectionCommands } from './commands/connections.js';
import { definitionCommands } from './commands/definitions.js';
import { LIST_KINDS, listCommands } from './commands/list.js';
import { messageCommands } from './commands/messages.js';
import { policyCommands } from './commands/policies.js';
import { topologyCommands } from './commands/topology.js';
import { AdminClient, DEFAULT_URL, resolveConnection } from './http-client.js';

export const ADMIN_COMMANDS: readonly CommandSpec[] = [
  ...listCommands, ...topologyCommands, ...messageCommands, ...definitionCommands,
  ...accessCommands, ...policyCommands, ...connectionCommands,
];

/** Options every admin command takes: where to connect, and the output form. */
const GLOBAL_VALUES = new Set(['url', 'user', 'password']);
const GLOBAL_FLAGS = new Set(['json', 'help']);

/** Every flag name, so the parser knows `--durable` takes no value wherever it appears. */
const BOOLEANS: ReadonlySet<string> = new Set([
  ...GLOBAL_FLAGS,
  ...ADMIN_COMMANDS.flatMap((c) => (c.options ?? []).filter((o) => o.boolean).map((o) => o.name)),
]);

/** The first word of every admin command: main.ts sends these here. */
export const ADMIN_VERBS: ReadonlySet<string> = new Set(ADMIN_COMMANDS.map((c) => c.words[0]!));

/** Help entries grouped by verb (every `delete …` together), the list kinds folded into one entry. */
function helpEntries(): string[] {
  const verbs = [...new Set(ADMIN_COMMANDS.map((c) => c.words[0]!))];
  const entries: string[] = [];
  for (const verb of verbs) {
    if (verb === 'list') {
      entries.push(`  warren list ${LIST_KINDS.join('|')} [--vhost V] [--columns A,B]
      list objects (every vhost unless --vhost; users and vhosts take none); --columns picks
      the fields shown, dotted for nested ones (queue.name)`);
      continue;
    }
    for (const c of ADMIN_COMMANDS.filter((x) => x.words[0] === verb)) entries.push(`  ${usageLine(c)}\n      ${c.summary}`);
  }
  return entries;
}

export const ADMIN_USAGE = `Admin commands, against a running broker's management HTTP API:
${helpEntries().join('\n')}

Options of every admin command:
  --url URL            management API (default ${DEFAULT_URL}; or WARREN_URL)
  --user U             user (default guest; or WARREN_USER)
  --password P         password (default guest; or WARREN_PASSWORD). Where the command has its
                       own --user or --password (add user, set permissions), the connection's go
                       before the command words: warren --user admin --password pw add user …
  --json               print the API's JSON instead of tables and messages
  --help               print the command's usage
Exit status: 0 done, 1 the operation failed (the API's reason on stderr), 2 usage error.`;

/** The usage lines of the commands starting with these words (a group like `declare`, or one command). */
function groupUsage(words: string[]): string {
  const matching = ADMIN_COMMANDS.filter((c) => words.every((w, i) => c.words[i] === w));
  return matching.map(usageLine).join('\n');
}

/** Usage text for `warren help WORDS…`, or undefined when no admin command starts so. */
export function helpFor(words: string[]): string | undefined {
  const text = groupUsage(words);
  return text === '' ? undefined : text;
}

function findCommand(positionals: string[]): CommandSpec {
  const [verb, second] = positionals;
  const group = ADMIN_COMMANDS.filter((c) => c.words[0] === verb);
  if (group.length === 0) throw new UsageError(`unknown command '${verb}' (try 'warren help')`);
  const one = group.find((c) => c.words.length === 1);
  if (one) return one;
  const choices = group.map((c) => c.words[1]!).join(', ');
  if (second === undefined) throw new UsageError(`'warren ${verb}' needs one of: ${choices}`, groupUsage([verb!]));
  const spec = group.find((c) => c.words[1] === second);
  if (!spec) throw new UsageError(`unknown: 'warren ${verb} ${second}'; '${verb}' takes one of: ${choices}`, groupUsage([verb!]));
  return spec;
}

/**
 * Runs one admin command; `write` receives stdout's text. Resolves when done; throws UsageError
 * (exit 2) or an error whose message explains the failure (exit 1).
 */
export async function runAdmin(argv: readonly string[], env: NodeJS.ProcessEnv, write: (text: string) => void): Promise<void> {
  const parsed = parseArgs(argv, BOOLEANS);
  if (parsed.positionals.length === 0) throw new UsageError("no command given (try 'warren help')");
  const wantsHelp = parsed.leading.get('help') === true || parsed.options.get('help') === true;
  // `warren declare --help`: a group's usage, though no single command is named yet.
  if (wantsHelp && parsed.positionals.length === 1 && !ADMIN_COMMANDS.some((c) => c.words.length === 1 && c.words[0] === parsed.positionals[0])) {
    const text = helpFor(parsed.positionals.slice(0, 1));
    if (text !== undefined) return write(`Usage: ${text.split('\n').join('\n       ')}\n`);
  }
  const spec = findCommand(parsed.positionals);
  const usage = usageLine(spec);
  const own = new Map((spec.options ?? []).map((o) => [o.name, o]));

  // Before the command words, an option is a connection or output option when it can be one;
  // after them, the command's own when it has one of that name (see ParsedArgs.leading).
  const globals = new Map<string, string | boolean>();
  const options = new Map<string, string | boolean>();
  const assign = (name: string, value: string | boolean, preferGlobal: boolean): void => {
    const isGlobal = GLOBAL_VALUES.has(name) || GLOBAL_FLAGS.has(name);
    const into = isGlobal && (preferGlobal || !own.has(name)) ? globals : own.has(name) ? options : undefined;
    if (!into) throw new UsageError(`unknown option --${name} for 'warren ${spec.words.join(' ')}'`, usage);
    if (into.has(name)) throw new UsageError(`--${name} given twice`, usage);
    // The parser decides flag or value by name across all commands (BOOLEANS); this keeps a future
    // command from reusing a flag's name for a value option unnoticed.
    const isFlag = into === globals ? GLOBAL_FLAGS.has(name) : own.get(name)!.boolean === true;
    if (isFlag !== (typeof value === 'boolean')) throw new UsageError(`--${name} ${isFlag ? 'takes no value' : 'needs a value'}`, usage);
    into.set(name, value);
  };
  for (const [name, value] of parsed.leading) assign(name, value, true);
  for (const [name, value] of parsed.options) assign(name, value, false);

  if (globals.get('help') === true) {
    write(`Usage: ${usage}\n  ${spec.summary}\n`);
    return;
  }

  const given = parsed.positionals.slice(spec.words.length);
  const names = spec.args ?? [];
  if (given.length > names.length) throw new UsageError(`unexpected argument '${given[names.length]}'`, usage);
  const args = new Map<string, string>();
  names.forEach((n, i) => {
    const optional = n.startsWith('[');
    const key = optional ? n.slice(1, -1) : n;
    if (given[i] !== undefined) args.set(key, given[i]!);
    else if (!optional) throw new UsageError(`${key} is missing`, usage);
  });
  for (const o of spec.options ?? []) {
    if (o.required && !options.has(o.name)) throw new UsageError(`--${o.name} is required`, usage);
  }

  const str = (name: string): string | undefined => {
    const v = globals.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  try {
    const client = new AdminClient(resolveConnection({ url: str('url'), user: str('user'), password: str('password') }, env));
    await spec.run(new CommandContext(spec, client, args, options, globals.get('json') === true, write));
  } catch (err) {
    // Values checked from here on (the URL, JSON, numbers) raise a bare UsageError: add the usage line.
    if (err instanceof UsageError && err.usage === undefined) throw new UsageError(err.message, usage);
    throw err;
  }
}
