/**
 * The deduplication cache without a broker: window expiry on an injected clock, size eviction,
 * "while in the queue" release semantics, message keys, and argument validation (406 naming the
 * argument). Persistence: src/store/dedup-log.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeProperties } from '../../protocol/amqp/codec/properties.js';
import type { BasicProperties } from '../../protocol/amqp/codec/properties.js';
import { BrokerError } from '../broker-error.js';
import { Message } from '../message.js';
import { PRECONDITION_FAILED } from '../reply-codes.js';
import type { DedupJournal } from './deduplication.js';
import {
  DEFAULT_WINDOW_CACHE_SIZE, Deduplicator, MAX_KEY_BYTES, deduplicationKey, messageTtl, parseDeduplicationArgs,
} from './deduplication.js';

class Clock {
  t = 1_000_000;
  readonly now = (): number => this.t;
}

const msg = (props: BasicProperties, timestamp = 0): Message =>
  new Message('', 'q', encodeProperties(props), Buffer.from('x'), timestamp);

/** Records journal calls as strings. */
class FakeJournal implements DedupJournal {
  calls: string[] = [];
  records: [1 | 2 | 3, string, number, number][] = [];
  load(apply: (kind: 1 | 2 | 3, key: string, stamp: number, expiresAt: number) => void): void {
    for (const r of this.records) apply(...r);
  }
  admitted(key: string, stamp: number, expiresAt: number, sync: boolean): void {
    this.calls.push(`admit ${key} ${expiresAt}${sync ? ' sync' : ''}`);
  }
  released(key: string): void { this.calls.push(`release ${key}`); }
  cleared(): void { this.calls.push('clear'); }
  duplicateSeen(): void { this.calls.push('dup'); }
  shouldCompact(): boolean { return false; }
  compact(): void { this.calls.push('compact'); }
  close(): void { this.calls.push('close'); }
  destroy(): void { this.calls.push('destroy'); }
}

describe('Deduplicator: window', () => {
  test('a key is refused within the window and admitted again once it has passed', () => {
    const clock = new Clock();
    const d = new Deduplicator({ ttlMs: 1000, cacheSize: undefined }, null, clock.now);
    assert.equal(d.releaseOnExit, false);
    assert.equal(d.cacheSize, DEFAULT_WINDOW_CACHE_SIZE, 'a window alone gets the default cap');
    assert.equal(d.admitKey('k', 0), true);
    clock.t += 999;
    assert.equal(d.admitKey('k', 0), false);
    clock.t += 1;
    assert.equal(d.admitKey('k', 0), true, 'the window is over');
    assert.equal(d.admitKey('k', 0), false, 'and a new window started');
  });

  test('expired keys are swept from the head without a lookup', () => {
    const clock = new Clock();
    const d = new Deduplicator({ ttlMs: 100, cacheSize: undefined }, null, clock.now);
    for (let i = 0; i < 50; i++) d.admitKey(`a${i}`, 0);
    clock.t += 50;
    for (let i = 0; i < 50; i++) d.admitKey(`b${i}`, 0);
    clock.t += 60; // the a* keys are expired, the b* keys are not
    d.admitKey('c', 0);
    assert.equal(d.size, 51);
    assert.equal(d.has('a0'), false);
    assert.equal(d.has('b0'), true);
  });

  test('a per-message window replaces the queue\'s, and is checked at lookup when not at the head', () => {
    const clock = new Clock();
    const d = new Deduplicator({ ttlMs: 10_000, cacheSize: undefined }, null, clock.now);
    d.admitKey('long', 0);
    d.admitKey('short', 0, 10);
    clock.t += 10;
    assert.equal(d.admitKey('short', 0), true, 'its own window passed though a longer-lived key is ahead of it');
    assert.equal(d.admitKey('long', 0), false);
    assert.equal(messageTtl(msg({ headers: { 'x-cache-ttl': 250 } })), 250);
    assert.equal(messageTtl(msg({ headers: { 'x-cache-ttl': -1 } })), undefined);
    assert.equal(messageTtl(msg({ headers: { 'x-cache-ttl': 'soon' } })), undefined);
  });

  test('keys are not released when their message leaves the queue', () => {
    const d = new Deduplicator({ ttlMs: 1000, cacheSize: 10 }, null, new Clock().now);
    const m = msg({ messageId: 'm' });
    assert.equal(d.admit(m), true);
    d.release(m);
    d.purged();
    assert.equal(d.admit(m), false);
  });
});

describe('Deduplicator: size', () => {
  test('beyond the size the least recently inserted key is forgotten', () => {
    const d = new Deduplicator({ ttlMs: undefined, cacheSize: 3 }, null, new Clock().now);
    for (const k of ['a', 'b', 'c']) assert.equal(d.admitKey(k, 0), true);
    assert.equal(d.admitKey('a', 0), false, 'a refused duplicate does not count as an insertion');
    assert.equal(d.admitKey('d', 0), true);
    assert.equal(d.size, 3);
    assert.equal(d.has('a'), false, 'a was inserted first');
    assert.equal(d.admitKey('b', 0), false);
    assert.equal(d.admitKey('a', 0), true, 'forgotten, so admitted again (evicting b)');
    assert.equal(d.has('b'), false);
  });

  test('window and size together: whichever forgets first', () => {
    const clock = new Clock();
    const d = new Deduplicator({ ttlMs: 100, cacheSize: 2 }, null, clock.now);
    d.admitKey('a', 0);
    d.admitKey('b', 0);
    d.admitKey('c', 0);
    assert.equal(d.has('a'), false);
    clock.t += 100;
    assert.equal(d.admitKey('b', 0), true);
  });
});

describe('Deduplicator: while in the queue (no window, no size)', () => {
  test('a key is refused until its message leaves; a late release of an older copy keeps the newer key', () => {
    const d = new Deduplicator({ ttlMs: undefined, cacheSize: undefined }, null, new Clock().now);
    assert.equal(d.releaseOnExit, true);
    assert.equal(d.cacheSize, Infinity);
    const first = msg({ headers: { 'x-deduplication-header': 'k' } }, 100);
    assert.equal(d.admit(first), true);
    assert.equal(d.admit(msg({ headers: { 'x-deduplication-header': 'k' } }, 101)), false);
    d.release(first);
    assert.equal(d.has('k'), false);
    // First copy out for delivery, the queue purged, a new copy admitted, then the first one acked.
    assert.equal(d.admit(first), true);
    d.purged();
    const second = msg({ headers: { 'x-deduplication-header': 'k' } }, 200);
    assert.equal(d.admit(second), true);
    d.release(first);
    assert.equal(d.has('k'), true, 'the ack of the older copy does not free the newer copy\'s key');
    d.release(second);
    assert.equal(d.has('k'), false);
  });

  test('the journal gets the keys of persistent messages only, and their releases; a purge is one record', () => {
    const j = new FakeJournal();
    const d = new Deduplicator({ ttlMs: undefined, cacheSize: undefined }, j, new Clock().now);
    const p = msg({ messageId: 'p', deliveryMode: 2 }, 5);
    const t = msg({ messageId: 't', deliveryMode: 1 }, 5);
    d.admit(p);
    d.admit(t);
    d.admit(p);
    d.release(t);
    d.release(p);
    d.admit(p);
    d.purged();
    d.close();
    assert.deepEqual(j.calls, ['admit p 0 sync', 'dup', 'release p', 'admit p 0 sync', 'clear', 'close']);
  });

  test('window mode journals every key, syncing only for persistent messages', () => {
    const j = new FakeJournal();
    const clock = new Clock();
    const d = new Deduplicator({ ttlMs: 10, cacheSize: undefined }, j, clock.now);
    d.admit(msg({ messageId: 'p', deliveryMode: 2 }));
    d.admit(msg({ messageId: 't' }));
    d.destroy();
    assert.deepEqual(j.calls, [`admit p ${clock.t + 10} sync`, `admit t ${clock.t + 10}`, 'destroy']);
  });

  test('replay applies admits, guarded releases and clears; drops expired keys; applies the cap', () => {
    const clock = new Clock();
    const j = new FakeJournal();
    j.records = [
      [1, 'gone', 1, 0], [3, '', 0, 0],
      [1, 'a', 10, 0], [1, 'b', 10, clock.t - 1], [1, 'c', 10, clock.t + 5],
      [2, 'a', 9, 0], // an older copy's release: a stays
      [1, 'd', 20, 0], [2, 'd', 20, 0],
    ];
    const d = new Deduplicator({ ttlMs: undefined, cacheSize: undefined }, j, clock.now);
    assert.deepEqual(['gone', 'a', 'b', 'c', 'd'].map((k) => d.has(k)), [false, true, false, true, false]);
    clock.t += 5;
    assert.equal(d.has('c'), false);
    j.records = [[1, 'x', 1, 0], [1, 'y', 1, 0], [1, 'z', 1, 0]];
    const capped = new Deduplicator({ ttlMs: undefined, cacheSize: 2 }, j, clock.now);
    assert.deepEqual(['x', 'y', 'z'].map((k) => capped.has(k)), [false, true, true]);
  });
});

describe('deduplication keys', () => {
  test('the header wins over message_id; numbers and byte arrays are normalised to strings', () => {
    assert.equal(deduplicationKey(msg({ messageId: 'id', headers: { 'x-deduplication-header': 'h' } })), 'h');
    assert.equal(deduplicationKey(msg({ messageId: 'id' })), 'id');
    assert.equal(deduplicationKey(msg({ messageId: 'id', headers: { other: 1 } })), 'id');
    assert.equal(deduplicationKey(msg({ headers: { 'x-deduplication-header': 42 } })), '42');
    assert.equal(deduplicationKey(msg({ headers: { 'x-deduplication-header': 42n } })), '42');
    assert.equal(deduplicationKey(msg({ headers: { 'x-deduplication-header': { type: 's', value: 42 } } })), '42');
    assert.equal(deduplicationKey(msg({ headers: { 'x-deduplication-header': Buffer.from('b') } })), 'b');
    assert.equal(deduplicationKey(msg({ headers: { 'x-deduplication-header': { nested: 1 } }, messageId: 'id' })), 'id',
      'an unusable header falls back to message_id');
  });

  test('no header and no message_id (or an empty one): no key; long keys become a digest', () => {
    assert.equal(deduplicationKey(msg({})), undefined);
    assert.equal(deduplicationKey(msg({ messageId: '' })), undefined);
    const long = deduplicationKey(msg({ headers: { 'x-deduplication-header': 'x'.repeat(MAX_KEY_BYTES + 1) } }))!;
    assert.match(long, /^\0sha256:[0-9a-f]{64}$/);
    const d = new Deduplicator({ ttlMs: undefined, cacheSize: 5 }, null);
    assert.equal(d.admit(msg({})), true);
    assert.equal(d.admit(msg({})), true, 'never deduplicated');
    assert.equal(d.size, 0);
  });
});

describe('parseDeduplicationArgs', () => {
  const parse = (args: Parameters<typeof parseDeduplicationArgs>[0]) => parseDeduplicationArgs(args, 'q', '/');

  test('off unless x-message-deduplication is true; size and window read when on', () => {
    assert.equal(parse({}), null);
    assert.equal(parse({ 'x-message-deduplication': false, 'x-cache-size': 'whatever' }), null);
    assert.deepEqual(parse({ 'x-message-deduplication': true }), { cacheSize: undefined, ttlMs: undefined });
    assert.deepEqual(parse({ 'x-message-deduplication': true, 'x-cache-size': 10, 'x-cache-ttl': 5000n }),
      { cacheSize: 10, ttlMs: 5000 });
    assert.deepEqual(parse({ 'x-message-deduplication': true, 'x-cache-size': { type: 's', value: 7 }, 'x-cache-ttl': '60000' }),
      { cacheSize: 7, ttlMs: 60000 });
  });

  test('wrong types and non-positive values are 406 naming the argument', () => {
    const bad: [Parameters<typeof parse>[0], string][] = [
      [{ 'x-message-deduplication': 'yes' }, 'x-message-deduplication'],
      [{ 'x-message-deduplication': true, 'x-cache-size': 0 }, 'x-cache-size'],
      [{ 'x-message-deduplication': true, 'x-cache-size': -3 }, 'x-cache-size'],
      [{ 'x-message-deduplication': true, 'x-cache-size': 1.5 }, 'x-cache-size'],
      [{ 'x-message-deduplication': true, 'x-cache-size': 'ten' }, 'x-cache-size'],
      [{ 'x-message-deduplication': true, 'x-cache-ttl': true }, 'x-cache-ttl'],
      [{ 'x-message-deduplication': true, 'x-cache-ttl': { a: 1 } }, 'x-cache-ttl'],
    ];
    for (const [args, name] of bad) {
      assert.throws(() => parse(args), (err: unknown) => {
        assert.ok(err instanceof BrokerError);
        assert.equal(err.replyCode, PRECONDITION_FAILED);
        assert.ok(err.text.startsWith(`invalid arg '${name}' for queue 'q' in vhost '/': `), err.text);
        return true;
      });
    }
  });
});
