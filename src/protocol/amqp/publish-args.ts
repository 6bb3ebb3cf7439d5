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
  exchange = '';
  routingKey = '';
  mandatory = false;
  immediate = false;
  readonly #exchangeBytes = Buffer.allocUnsafe(255);
  #exchangeLength = -1;
  readonly #routingKeyBytes = Buffer.allocUnsafe(255);
  #routingKeyLength = -1;

  /**
   * Decodes the arguments of the basic.publish method frame whose payload (class and method ids
   * included) is `payload[start, end)`. False when they are malformed: the generic decoder then
   * reports the error.
   */
  decode(payload: Buffer, start: number, end: number): boolean {
    let p = start + 6; // class-id, method-id, ticket
    if (p >= end) return false;
    const exLen = payload[p]!;
    p++;
    if (p + exLen >= end) return false; // the routing key's length byte must follow
    if (exLen !== this.#exchangeLength || !sameBytes(this.#exchangeBytes, payload, p, exLen)) {
      this.exchange = payload.toString('utf8', p, p + exLen);
      payload.copy(this.#exchangeBytes, 0, p, p + exLen);
      this.#exchangeLength = exLen;
    }
    p += exLen;
    const rkLen = payload[p]!;
    p++;
    if (p + rkLen >= end) return false; // the bits octet must follow
    if (rkLen !== this.#routingKeyLength || !sameBytes(this.#routingKeyBytes, payload, p, rkLen)) {
      this.routingKey = payload.toString('utf8', p, p + rkLen);
      payload.copy(this.#routingKeyBytes, 0, p, p + rkLen);
      this.#routingKeyLength = rkLen;
    }
    p += rkLen;
    const bits = payload[p]!;
    this.mandatory = (bits & 1) !== 0;
    this.immediate = (bits & 2) !== 0;
    return true;
  }
}

function sameBytes(cached: Buffer, b: Buffer, at: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (cached[i] !== b[at + i]) return false;
  return true;
}
