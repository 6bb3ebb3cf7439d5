import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FieldTable } from '../../protocol/amqp/codec/field-table.js';
import { BrokerError } from '../broker-error.js';
import { delayedTypeOf, parseDelay } from './delayed.js';

test('x-delay: integers of every AMQP width, floats rounded down, digit strings; the rest is no delay', () => {
  assert.equal(parseDelay(1500), 1500);
  assert.equal(parseDelay(1500n), 1500);
  assert.equal(parseDelay({ type: 's', value: 300 }), 300);
  assert.equal(parseDelay({ type: 'l', value: 5_000_000_000n }), 5_000_000_000);
  assert.equal(parseDelay({ type: 'd', value: 250 }), 250);
  assert.equal(parseDelay(99.9), 99);
  assert.equal(parseDelay(' 42 '), 42);
  assert.equal(parseDelay(Buffer.from('7')), 7);
  assert.equal(parseDelay(2n ** 70n), 8.64e15, 'capped at the largest Date');
  for (const none of [undefined, null, 0, -1, 0.5, NaN, Infinity, '1e3', 'soon', '', true, {}, [5], { type: 'D', value: { scale: 0, value: 5 } }]) {
    assert.equal(parseDelay(none as never), 0, `${String(none)} is no delay`);
  }
});

test('x-delayed-type must name a type that can be delayed', () => {
  assert.equal(delayedTypeOf({ 'x-delayed-type': 'topic' }), 'topic');
  assert.equal(delayedTypeOf({ 'x-delayed-type': Buffer.from('headers') }), 'headers');
  const bad: FieldTable[] = [{}, { 'x-delayed-type': 'x-delayed-message' }, { 'x-delayed-type': 'Direct' }, { 'x-delayed-type': 1 }];
  for (const args of bad) {
    assert.throws(() => delayedTypeOf(args), (err: unknown) =>
      err instanceof BrokerError && err.replyCode === 406 && err.text.includes('x-delayed-type'));
  }
});
