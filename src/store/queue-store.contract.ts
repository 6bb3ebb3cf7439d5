import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Message } from '../core/message.js';
import type { QueueStore } from './queue-store.js';

/**
 * The QueueStore contract as a test suite: every store implementation (memory now, the durable
 * segment store later) runs exactly these tests, as nats-server does for its stores.
 */
export function queueStoreContract(name: string, create: () => QueueStore): void {
  const msg = (body: string): Message => new Message('', 'q', Buffer.alloc(2), Buffer.from(body));
  const bodies = (store: QueueStore): string[] => {
    const out: string[] = [];
    for (let e = store.shift(); e; e = store.shift()) out.push(e.message.body.toString());
    return out;
  };

  test(`${name}: FIFO order, counts and bytes`, () => {
    const s = create();
    for (const b of ['a', 'bb', 'ccc']) s.push(msg(b));
    assert.equal(s.readyCount, 3);
    assert.equal(s.readyBytes, 6);
    const first = s.shift()!;
    assert.equal(first.message.body.toString(), 'a');
    assert.equal(first.redelivered, false);
    assert.equal(s.readyCount, 2);
    assert.equal(s.readyBytes, 5);
    s.ack(first);
    assert.deepEqual(bodies(s), ['bb', 'ccc']);
    assert.equal(s.readyBytes, 0);
    assert.equal(s.shift(), undefined);
  });

  test(`${name}: a requeued entry goes back to its original position, marked redelivered`, () => {
    const s = create();
    for (let i = 1; i <= 6; i++) s.push(msg(String(i)));
    const taken = [s.shift()!, s.shift()!, s.shift()!, s.shift()!]; // 1..4 out
    s.requeue(taken[3]!); // 4 back first
    s.requeue(taken[1]!); // then 2
    s.ack(taken[0]!);
    s.push(msg('7'));
    const e2 = s.shift()!;
    assert.equal(e2.message.body.toString(), '2');
    assert.equal(e2.redelivered, true);
    assert.deepEqual(bodies(s), ['4', '5', '6', '7']);
    s.requeue(taken[2]!); // 3, after the ring drained
    assert.deepEqual(bodies(s), ['3']);
  });

  test(`${name}: peek shows the next entry without taking it, requeued ones first`, () => {
    const s = create();
    assert.equal(s.peek(), undefined);
    for (let i = 1; i <= 3; i++) s.push(msg(String(i)));
    assert.equal(s.peek()!.message.body.toString(), '1');
    assert.equal(s.readyCount, 3);
    const one = s.shift()!;
    assert.equal(s.peek()!.message.body.toString(), '2');
    s.requeue(one);
    assert.equal(s.peek()!.message.body.toString(), '1');
    assert.equal(s.shift()!.message.body.toString(), '1');
    assert.deepEqual(bodies(s), ['2', '3']);
  });

  test(`${name}: the arrival timestamp comes back with the message`, () => {
    const s = create();
    s.push(new Message('', 'q', Buffer.alloc(2), Buffer.from('t'), 1_700_000_000_123));
    assert.equal(s.shift()!.message.timestamp, 1_700_000_000_123);
  });

  test(`${name}: seq increases in publish order`, () => {
    const s = create();
    s.push(msg('a'));
    s.push(msg('b'));
    const a = s.shift()!;
    const b = s.shift()!;
    assert.ok(b.seq > a.seq);
  });

  test(`${name}: purge drops ready entries but not the ones out for delivery`, () => {
    const s = create();
    for (let i = 0; i < 5; i++) s.push(msg(String(i)));
    const out = s.shift()!;
    assert.equal(s.purge(), 4);
    assert.equal(s.readyCount, 0);
    assert.equal(s.readyBytes, 0);
    s.requeue(out);
    assert.equal(s.readyCount, 1);
    assert.deepEqual(bodies(s), ['0']);
  });

  test(`${name}: many entries through a growing and shrinking buffer keep order`, () => {
    const s = create();
    let next = 0;
    let expect = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 3000; i++) s.push(msg(String(next++)));
      for (let i = 0; i < 2900; i++) assert.equal(s.shift()!.message.body.toString(), String(expect++));
    }
    for (let e = s.shift(); e; e = s.shift()) assert.equal(e.message.body.toString(), String(expect++));
    assert.equal(expect, next);
  });
}
