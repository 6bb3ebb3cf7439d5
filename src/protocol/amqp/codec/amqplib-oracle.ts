/**
 * Test support (not used by the broker): amqplib's own codec (a devDependency) as an independent
 * oracle, plus conversions between our value model and amqplib's.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FieldTable, FieldValue } from './field-table.js';
import { isTypedValue } from './field-table.js';

const require = createRequire(import.meta.url);

export interface AmqplibCodec {
  encodeTable(buf: Buffer, val: unknown, offset: number): number;
  decodeFields(slice: Buffer): Record<string, unknown>;
}
export interface AmqplibDefs {
  encodeMethod(id: number, channel: number, fields: Record<string, unknown>): Buffer;
  decode(id: number, buf: Buffer): Record<string, unknown>;
  encodeProperties(id: number, channel: number, size: number, fields: Record<string, unknown>): Buffer;
}

// amqplib's package "exports" hide lib/; reach the files by absolute path from its entry point.
const amqplibDir = dirname(require.resolve('amqplib'));
export const amqplibCodec = require(join(amqplibDir, 'lib/codec.js')) as AmqplibCodec;
export const amqplibDefs = require(join(amqplibDir, 'lib/defs.js')) as AmqplibDefs;

const AMQPLIB_TYPE: Record<string, string> = {
  b: 'byte', B: 'unsignedbyte', s: 'short', u: 'unsignedshort', I: 'int', i: 'unsignedint',
  l: 'long', f: 'float', d: 'double',
};

/** Our (canonical) value → amqplib's encoder input that produces the same wire tag. */
export function toAmqplibInput(v: FieldValue): unknown {
  if (typeof v === 'number') return { '!': Number.isSafeInteger(v) && !Object.is(v, -0) ? 'int' : 'double', value: v };
  if (typeof v === 'bigint') return { '!': 'long', value: v };
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return v;
  if (v instanceof Date) return { '!': 'timestamp', value: v.getTime() / 1000 };
  if (Array.isArray(v)) return v.map(toAmqplibInput);
  if (isTypedValue(v)) {
    if (v.type === 'D') {
      const d = v.value as { scale: number; value: number };
      return { '!': 'decimal', value: { places: d.scale, digits: d.value } };
    }
    return { '!': AMQPLIB_TYPE[v.type], value: v.value };
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = toAmqplibInput((v as FieldTable)[k]!);
  return out;
}

/** Our decoded value → what amqplib's decoder returns for the same bytes. */
export function toAmqplibView(v: FieldValue): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return v;
  if (v instanceof Date) return { '!': 'timestamp', value: v.getTime() / 1000 };
  if (Array.isArray(v)) return v.map(toAmqplibView);
  if (isTypedValue(v)) {
    if (v.type === 'D') {
      const d = v.value as { scale: number; value: number };
      return { '!': 'decimal', value: { places: d.scale, digits: d.value } };
    }
    return typeof v.value === 'bigint' ? Number(v.value) : v.value;
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = toAmqplibView((v as FieldTable)[k]!);
  return out;
}
