import type { FieldTable, FieldValue } from '../../protocol/amqp/codec/field-table.js';
import { fieldString } from '../../protocol/amqp/codec/field-table.js';
import { valuesEquivalent } from '../equivalence.js';
import { BrokerError } from '../broker-error.js';
import type { Message } from '../message.js';
import { PRECONDITION_FAILED } from '../reply-codes.js';
import type { Binding, Destination } from './exchange.js';
import { Exchange } from './exchange.js';

type MatchMode = 'all' | 'any' | 'all-with-x' | 'any-with-x';

interface HeadersBinding {
  binding: Binding;
  mode: MatchMode;
  /** Whether keys starting with `x-` take part in the match (the *-with-x modes). */
  withX: boolean;
  all: boolean;
}

/**
 * Headers exchange (§3.1.3.4): a binding matches on the message's headers table, with `x-match`
 * = all (default) / any, or RabbitMQ's all-with-x / any-with-x that also compare `x-` keys.
 * A binding entry with a void value matches on the presence of the header alone.
 */
export class HeadersExchange extends Exchange {
  readonly type = 'headers';
  readonly #entries: HeadersBinding[] = [];

  route(message: Message, out: Destination[]): void {
    if (this.#entries.length === 0) return;
    const headers = message.headers;
    for (const e of this.#entries) {
      if (matches(e, headers)) out.push(e.binding.destination);
    }
  }

  protected addIndex(binding: Binding): void {
    const mode = matchMode(binding.arguments);
    this.#entries.push({ binding, mode, withX: mode.endsWith('-with-x'), all: mode.startsWith('all') });
  }

  protected removeIndex(binding: Binding): void {
    const i = this.#entries.findIndex((e) => e.binding === binding);
    if (i >= 0) this.#entries.splice(i, 1);
  }
}

/** Validates x-match at bind time, as RabbitMQ does (406 for an unknown value). */
export function matchMode(args: FieldTable): MatchMode {
  const raw = args['x-match'];
  if (raw === undefined) return 'all';
  const mode = fieldString(raw);
  if (mode === 'all' || mode === 'any' || mode === 'all-with-x' || mode === 'any-with-x') return mode;
  throw new BrokerError(PRECONDITION_FAILED, `Invalid x-match field value ${JSON.stringify(String(mode ?? raw))}; expected all, any, all-with-x, or any-with-x`);
}

function matches(e: HeadersBinding, headers: FieldTable | undefined): boolean {
  const args = e.binding.arguments;
  for (const key of Object.keys(args)) {
    if (key === 'x-match') continue;
    if (!e.withX && key.startsWith('x-')) continue;
    const ok = headers !== undefined && Object.hasOwn(headers, key) && valueMatches(args[key]!, headers[key]!);
    if (e.all && !ok) return false;
    if (!e.all && ok) return true;
  }
  // all: every considered key matched (vacuously true with none); any: none did.
  return e.all;
}

function valueMatches(expected: FieldValue, actual: FieldValue): boolean {
  if (expected === null) return true; // void in the binding: presence is enough
  return valuesEquivalent(expected, actual);
}
