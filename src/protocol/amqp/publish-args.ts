/**
 * basic.publish arguments (§1.8.3.7: ticket, exchange, routing-key, mandatory, immediate) decoded
 * on the publish path without the generic decoder: no method object per publish, and no new
 * strings when a channel publishes to the same exchange and routing key as last time (the usual
 * case), because the last names' bytes are kept and compared. Measured in issue 6: the generic
 * decode and its two string allocations were about 5% of the broker's CPU in S1.
 *
 * One instance per publishing channel, made on its first publish.
 */
export class PublishArgs {
  readonly #exchange = new CachedShortStr();
  readonly #routingKey = new CachedShortStr();
  mandatory = false;
  immediate = false;

  get exchange(): string {
    return this.#exchange.value;
  }

  get routingKey(): string {
    return this.#routingKey.value;
  }

  /**
   * Decodes the arguments of the basic.publish method frame whose payload (class and method ids
   * included) is `payload[start, end)`. False when they are malformed: the generic decoder then
   * reports the error.
   */
  decode(payload: Buffer, start: number, end: number): boolean {
    let p = start + 6; // class-id, method-id, ticket
    if (p >= end) return false;
    const exLen = payload[p++]!;
    if (p + exLen >= end) return false; // the routing key's length byte must follow
    this.#exchange.read(payload, p, exLen);
    p += exLen;
    const rkLen = payload[p++]!;
    if (p + rkLen >= end) return false; // the bits octet must follow
    this.#routingKey.read(payload, p, rkLen);
    const bits = payload[p + rkLen]!;
    this.mandatory = (bits & 1) !== 0;
    this.immediate = (bits & 2) !== 0;
    return true;
  }
}

/** A shortstr decoded once and reused while the same bytes keep coming. */
class CachedShortStr {
  value = '';
  readonly #bytes = Buffer.allocUnsafe(255);
  #length = -1;

  read(b: Buffer, at: number, n: number): void {
    if (n === this.#length && sameBytes(this.#bytes, b, at, n)) return;
    this.value = b.toString('utf8', at, at + n);
    b.copy(this.#bytes, 0, at, at + n);
    this.#length = n;
  }
}

function sameBytes(cached: Buffer, b: Buffer, at: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (cached[i] !== b[at + i]) return false;
  return true;
}
