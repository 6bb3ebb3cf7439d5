/**
 * Prometheus text exposition format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/):
 *
 *   # HELP name help text
 *   # TYPE name counter
 *   name{label="value"} 42
 *
 * Every sample of a metric follows its HELP/TYPE lines, contiguously. The writer builds one string
 * from many small appends (V8 keeps them as a rope and flattens once), so a scrape of 10k queues
 * costs a few string operations per sample and no per-sample objects.
 */
export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'counter' | 'gauge' | 'untyped';

/** A label value, escaped: backslash, double quote and line feed are the only characters to escape. */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/[\\"\n]/g, escapeChar) : value;
}

/** HELP text escapes backslash and line feed (not the quote). */
export function escapeHelp(text: string): string {
  return /[\\\n]/.test(text) ? text.replace(/[\\\n]/g, escapeChar) : text;
}

function escapeChar(c: string): string {
  return c === '\n' ? '\\n' : `\\${c}`;
}

/** `{a="x",b="y"}` (names must be valid label names; values are escaped), or '' without labels. */
export function formatLabels(labels: Record<string, string>): string {
  let out = '';
  for (const name in labels) {
    out += `${out === '' ? '{' : ','}${name}="${escapeLabelValue(labels[name]!)}"`;
  }
  return out === '' ? '' : `${out}}`;
}

/** Go's float formatting as Prometheus reads it: integers plainly, and NaN, +Inf, -Inf by name. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export class ExpositionWriter {
  #text = '';
  #current = '';

  /** Starts a metric: its HELP and TYPE lines. Each name may be started once per exposition. */
  metric(name: string, type: MetricType, help: string): this {
    if (!NAME.test(name)) throw new Error(`invalid metric name '${name}'`);
    this.#current = name;
    this.#text += `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
    return this;
  }

  /** Goes on with the samples of a metric whose HELP/TYPE an earlier writer wrote (output in chunks). */
  resume(name: string): this {
    this.#current = name;
    return this;
  }

  /** A sample of the current metric; `labels` is preformatted by formatLabels() (reusable across metrics). */
  sample(labels: string, value: number): this {
    this.#text += `${this.#current}${labels} ${formatValue(value)}\n`;
    return this;
  }

  /** A metric with one unlabelled sample. */
  single(name: string, type: MetricType, help: string, value: number): this {
    return this.metric(name, type, help).sample('', value);
  }

  toString(): string {
    return this.#text;
  }
}
