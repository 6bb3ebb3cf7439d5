/**
 * Test support (not used by the broker): a small seeded PRNG (xorshift32) and generators of random
 * AMQP values. Every generated field value is "canonical": decoding its encoding gives back an
 * equal value (see the mapping in field-table.ts).
 *
 * Set AMQP_FUZZ_SEED to reproduce a failing run; tests print the seed in their messages.
 */
import type { FieldTable, FieldValue } from './field-table.js';

export const SEED = Number(process.env.AMQP_FUZZ_SEED ?? 0x5eed1234) >>> 0;

export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = (seed >>> 0) || 0x9e3779b9;
  }

  /** Uniform uint32. */
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.s = x;
    return x;
  }

  /** Integer in [lo, hi], inclusive; for ranges up to 2^53. */
  int(lo: number, hi: number): number {
    const span = hi - lo + 1;
    if (span <= 0x1_0000_0000) return lo + (this.next() % span);
    const r = (this.next() & 0x1f_ffff) * 0x1_0000_0000 + this.next();
    return lo + (r % span);
  }

  bool(): boolean {
    return (this.next() & 1) === 1;
  }

  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.next() % items.length]!;
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.next() & 0xff;
    return b;
  }

  /** A string of at most `maxBytes` UTF-8 bytes mixing 1-, 2-, 3- and 4-byte characters. */
  string(maxBytes: number): string {
    const target = this.chance(0.1) ? maxBytes : this.int(0, Math.min(maxBytes, 24));
    let s = '';
    let bytes = 0;
    for (;;) {
      const c = this.pick(CHARS);
      const n = Buffer.byteLength(c);
      if (bytes + n > target) break;
      s += c;
      bytes += n;
    }
    return s;
  }

  /** A uniformly random uint64 as a bigint. */
  u64(): bigint {
    return (BigInt(this.next()) << 32n) | BigInt(this.next());
  }
}

const CHARS = [...'abcdefghijklmnopqrstuvwxyz-._/:0123456789 ', 'é', 'ß', '€', '中', '𝄞', '\u0000'];

/** Random canonical field value; `depth` bounds nesting. */
export function randomValue(rng: Rng, depth = 0): FieldValue {
  const tags = depth < 3 ? 'tbBsuIilfdDSxTFAV' : 'tbBsuIilfdDSxTV';
  switch (rng.pick([...tags])) {
    case 't': return rng.bool();
    case 'b': return { type: 'b', value: rng.int(-128, 127) };
    case 'B': return { type: 'B', value: rng.int(0, 255) };
    case 's': return { type: 's', value: rng.int(-32768, 32767) };
    case 'u': return { type: 'u', value: rng.int(0, 65535) };
    case 'I': return rng.int(-0x8000_0000, 0x7fff_ffff);
    case 'i': return { type: 'i', value: rng.next() };
    case 'l': return BigInt.asIntN(64, rng.u64());
    case 'f': return { type: 'f', value: Math.fround((rng.next() - 0x8000_0000) / rng.int(1, 1000)) };
    case 'd': {
      const v = rng.bytes(8).readDoubleBE(0);
      if (Number.isNaN(v)) return NaN;
      return Number.isInteger(v) ? { type: 'd', value: v } : v;
    }
    case 'D': return { type: 'D', value: { scale: rng.int(0, 255), value: rng.next() } };
    case 'S': return rng.string(rng.chance(0.05) ? 1000 : 40);
    case 'x': return rng.bytes(rng.int(0, 40));
    case 'T': return new Date(rng.int(0, 8_000_000_000) * 1000);
    case 'F': return randomTable(rng, depth + 1);
    case 'A': {
      const a: FieldValue[] = [];
      for (let n = rng.int(0, 5); n > 0; n--) a.push(randomValue(rng, depth + 1));
      return a;
    }
    default: return null;
  }
}

/** Random canonical field table; keys never collide with the TypedValue shape or __proto__. */
export function randomTable(rng: Rng, depth = 0): FieldTable {
  const t: FieldTable = {};
  for (let n = rng.int(0, depth === 0 ? 8 : 4); n > 0; n--) {
    t['k' + rng.string(30)] = randomValue(rng, depth);
  }
  return t;
}
