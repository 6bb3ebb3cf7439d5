/**
 * Aligned plain-text tables for the admin commands' default output: a header of field names
 * (the same names `--columns` takes), then one line per object. Columns of numbers are
 * right-aligned so magnitudes compare at a glance; everything else is left-aligned.
 */

/** The value at a dotted path (`queue.name`), as the management API nests some fields. */
export function pick(item: unknown, path: string): unknown {
  let v: unknown = item;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/**
 * One cell's text. Arrays (user tags) read best comma-joined, objects (arguments) as compact JSON;
 * control characters are escaped because a raw newline in a payload would break the alignment.
 */
export function formatCell(value: unknown): string {
  let text: string;
  if (value === undefined || value === null) text = '';
  else if (typeof value === 'string') text = value;
  else if (Array.isArray(value) && value.every((x) => typeof x !== 'object' || x === null)) text = value.join(',');
  // No arguments at all ({}) is the common case: an empty cell reads better than "{}" on every line.
  else if (typeof value === 'object') text = Object.keys(value).length === 0 ? '' : JSON.stringify(value);
  else text = String(value);
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

export interface TableOptions {
  /** Print the header line (default true); the overview's key/value list has none. */
  header?: boolean;
}

/** The rows as an aligned table of `columns` (dotted paths allowed); lines end without padding. */
export function formatTable(rows: readonly unknown[], columns: readonly string[], options: TableOptions = {}): string {
  const cells = rows.map((row) => columns.map((col) => pick(row, col)));
  // A column is numeric when it has at least one value and every value present is a number.
  const numeric = columns.map((_, i) => {
    const present = cells.map((r) => r[i]).filter((v) => v !== undefined && v !== null);
    return present.length > 0 && present.every((v) => typeof v === 'number');
  });
  const lines: string[][] = cells.map((r) => r.map(formatCell));
  if (options.header !== false) lines.unshift([...columns]);
  const widths = columns.map((_, i) => Math.max(0, ...lines.map((l) => l[i]!.length)));
  return lines
    .map((l) => l.map((text, i) => (numeric[i] ? text.padStart(widths[i]!) : text.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}
