import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FieldTable } from '../../protocol/amqp/codec/field-table.js';
import { queueSettings } from '../queue/queue-arguments.js';
import { effectiveExchangeArguments, effectiveQueueArguments } from './effective-arguments.js';
import { Policy } from './policy.js';

const policy = (definition: Record<string, unknown>): Policy => new Policy('/', { name: 'p', pattern: '.*', definition });

describe('effective queue arguments: policy vs x-arguments', () => {
  test('without a policy the arguments are returned as they are', () => {
    const args: FieldTable = { 'x-message-ttl': 5 };
    assert.equal(effectiveQueueArguments(args, undefined), args);
  });

  test('a policy alone sets the x-arguments; other arguments are kept; the input is not modified', () => {
    const args: FieldTable = { 'x-max-priority': 5, 'x-custom': 'kept' };
    const eff = effectiveQueueArguments(args, policy({ 'message-ttl': 1000, 'max-length': 10, 'dead-letter-exchange': 'dlx' }));
    assert.deepEqual(eff, { 'x-max-priority': 5, 'x-custom': 'kept', 'x-message-ttl': 1000, 'x-max-length': 10, 'x-dead-letter-exchange': 'dlx' });
    assert.deepEqual(args, { 'x-max-priority': 5, 'x-custom': 'kept' });
  });

  test('limits and timeouts: the smaller of the two wins, whichever side it is on', () => {
    for (const key of ['message-ttl', 'expires', 'max-length', 'max-length-bytes', 'delivery-limit', 'consumer-timeout']) {
      const arg = `x-${key}`;
      assert.equal(effectiveQueueArguments({ [arg]: 500 }, policy({ [key]: 100 }))[arg], 100, `${key}: policy smaller`);
      assert.equal(effectiveQueueArguments({ [arg]: 100 }, policy({ [key]: 500 }))[arg], 100, `${key}: argument smaller`);
    }
  });

  test('the comparison works across AMQP integer encodings (long, short, unsigned)', () => {
    assert.equal(effectiveQueueArguments({ 'x-max-length': 7n }, policy({ 'max-length': 10 }))['x-max-length'], 7n);
    assert.equal(effectiveQueueArguments({ 'x-max-length': { type: 's', value: 20 } }, policy({ 'max-length': 10 }))['x-max-length'], 10);
    assert.equal(queueSettings(effectiveQueueArguments({ 'x-message-ttl': { type: 'i', value: 3 } }, policy({ 'message-ttl': 9 }))).messageTtl, 3);
  });

  test('a zero from either side wins (message-ttl 0 and max-length 0 are real limits)', () => {
    assert.equal(effectiveQueueArguments({ 'x-message-ttl': 0 }, policy({ 'message-ttl': 100 }))['x-message-ttl'], 0);
    assert.equal(effectiveQueueArguments({ 'x-max-length': 100 }, policy({ 'max-length': 0 }))['x-max-length'], 0);
  });

  test('an argument that is not an integer (never validated) gives way to the policy', () => {
    assert.equal(effectiveQueueArguments({ 'x-message-ttl': 'soon' }, policy({ 'message-ttl': 100 }))['x-message-ttl'], 100);
  });

  test('overflow, dead-letter exchange and routing key, queue-mode: the x-argument wins', () => {
    const args: FieldTable = { 'x-overflow': 'reject-publish', 'x-dead-letter-exchange': 'mine', 'x-dead-letter-routing-key': 'rk', 'x-queue-mode': 'default' };
    const eff = effectiveQueueArguments(args, policy({ overflow: 'drop-head', 'dead-letter-exchange': 'theirs',
      'dead-letter-routing-key': 'other', 'queue-mode': 'lazy' }));
    assert.deepEqual(eff, args);
  });

  test('each key is resolved on its own: argument DLX plus policy routing key', () => {
    const eff = effectiveQueueArguments({ 'x-dead-letter-exchange': 'mine' }, policy({ 'dead-letter-exchange': 'theirs', 'dead-letter-routing-key': 'from-policy' }));
    assert.deepEqual(eff, { 'x-dead-letter-exchange': 'mine', 'x-dead-letter-routing-key': 'from-policy' });
  });

  test('settings from the merged arguments', () => {
    const s = queueSettings(effectiveQueueArguments({ 'x-max-length': 50, 'x-overflow': 'reject-publish' },
      policy({ 'max-length': 20, 'message-ttl': 60000, overflow: 'drop-head', 'dead-letter-exchange': 'dlx', 'consumer-timeout': 1000 })));
    assert.equal(s.maxLength, 20);
    assert.equal(s.messageTtl, 60000);
    assert.equal(s.overflow, 'reject-publish');
    assert.equal(s.deadLetterExchange, 'dlx');
    assert.equal(s.consumerTimeout, 1000);
  });

  test('exchange-only keys do not reach queue arguments, and queue keys do not reach exchanges', () => {
    const p = policy({ 'alternate-exchange': 'ae', 'message-ttl': 5 });
    assert.deepEqual(effectiveQueueArguments({}, p), { 'x-message-ttl': 5 });
    assert.deepEqual(effectiveExchangeArguments({}, p), { 'alternate-exchange': 'ae' });
  });
});

describe('effective exchange arguments', () => {
  test('alternate-exchange: the argument wins, the policy fills in', () => {
    const p = policy({ 'alternate-exchange': 'from-policy' });
    assert.deepEqual(effectiveExchangeArguments({ 'alternate-exchange': 'mine' }, p), { 'alternate-exchange': 'mine' });
    assert.deepEqual(effectiveExchangeArguments({}, p), { 'alternate-exchange': 'from-policy' });
    assert.deepEqual(effectiveExchangeArguments({ other: 1 }, undefined), { other: 1 });
  });
});
