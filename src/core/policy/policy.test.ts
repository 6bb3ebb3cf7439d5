import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BrokerError } from '../broker-error.js';
import { PRECONDITION_FAILED } from '../reply-codes.js';
import type { PolicyInput } from './policy.js';
import { Policy } from './policy.js';
import { PolicySet } from './policy-set.js';

const policy = (input: Partial<PolicyInput> & { name: string }): Policy =>
  new Policy('/', { pattern: '.*', definition: { 'message-ttl': 1000 }, ...input });

/** Asserts that making the policy fails with 406 and a message containing every `parts`. */
function refused(input: Partial<PolicyInput> & { name?: unknown }, ...parts: string[]): void {
  assert.throws(() => new Policy('/', { name: 'p', pattern: '.*', definition: { 'message-ttl': 1 }, ...input } as PolicyInput), (err) => {
    assert.ok(err instanceof BrokerError, String(err));
    assert.equal(err.replyCode, PRECONDITION_FAILED);
    for (const part of parts) assert.ok(err.message.includes(part), `${JSON.stringify(err.message)} should mention ${JSON.stringify(part)}`);
    return true;
  });
}

describe('policy validation', () => {
  test('defaults: apply-to all, priority 0; the definition is kept as given', () => {
    const p = new Policy('/', { name: 'ttl', pattern: '^a\\.', definition: { 'message-ttl': 5000, overflow: 'reject-publish' } });
    assert.equal(p.applyTo, 'all');
    assert.equal(p.priority, 0);
    assert.deepEqual(p.definition, { 'message-ttl': 5000, overflow: 'reject-publish' });
    assert.deepEqual(p.toJSON(), { vhost: '/', name: 'ttl', pattern: '^a\\.', 'apply-to': 'all', priority: 0,
      definition: { 'message-ttl': 5000, overflow: 'reject-publish' } });
    assert.ok(Object.isFrozen(p) && Object.isFrozen(p.definition), 'a policy is immutable');
  });

  test('every supported key accepts a valid value', () => {
    const definition = {
      'message-ttl': 0, expires: 1, 'max-length': 10, 'max-length-bytes': 1024, overflow: 'reject-publish-dlx',
      'dead-letter-exchange': 'dlx', 'dead-letter-routing-key': 'dead', 'delivery-limit': 3, 'consumer-timeout': 60000,
      'queue-mode': 'lazy', 'alternate-exchange': 'ae',
    };
    assert.deepEqual(new Policy('v', { name: 'all-keys', pattern: '', definition }).definition, definition);
  });

  test('bad values are refused naming the key and the value, with the declare-time reason', () => {
    refused({ definition: { 'message-ttl': 'abc' } }, "policy 'p'", "vhost '/'", "'message-ttl'", '"abc"', 'expected integer');
    refused({ definition: { 'message-ttl': 1.5 } }, "'message-ttl'", '1.5', 'expected integer');
    refused({ definition: { 'max-length': -1 } }, "'max-length'", 'value_negative');
    refused({ definition: { expires: 0 } }, "'expires'", 'value_zero');
    refused({ definition: { 'message-ttl': 4e11 } }, "'message-ttl'", 'value_too_large');
    refused({ definition: { overflow: 'drop-tail' } }, "'overflow'", 'drop-tail', 'invalid_overflow');
    refused({ definition: { 'queue-mode': 'eager' } }, "'queue-mode'", 'eager');
    refused({ definition: { 'dead-letter-exchange': 5 } }, "'dead-letter-exchange'", 'invalid type');
    refused({ definition: { 'dead-letter-routing-key': 'k'.repeat(256) } }, "'dead-letter-routing-key'", 'routing key of 256 bytes, longer than 255');
    refused({ definition: { 'alternate-exchange': true } }, "'alternate-exchange'", 'must be a string');
    refused({ definition: { 'max-length': { type: 'I', value: 5 } } }, "'max-length'", 'must be a JSON number, string or boolean');
    refused({ definition: { 'max-length': null } }, "'max-length'");
  });

  test('unknown keys, and keys a policy cannot set, are refused', () => {
    refused({ definition: { 'message-ttl': 1, 'x-message-ttl': 1 } }, "'x-message-ttl' is not a recognised policy setting");
    refused({ definition: { bogus: 1 } }, "'bogus' is not a recognised policy setting");
    refused({ definition: { 'max-priority': 10 } }, "'max-priority' cannot be set by a policy");
    refused({ definition: { 'single-active-consumer': true } }, "'single-active-consumer' cannot be set by a policy");
    refused({ definition: { 'ha-mode': 'all' } }, "'ha-mode' is a RabbitMQ policy setting that Warren does not support");
  });

  test('name, pattern, apply-to, priority and definition shapes are checked', () => {
    refused({ name: '' }, 'invalid policy name ""');
    refused({ name: 'x'.repeat(256) }, 'at most 255 bytes');
    refused({ pattern: '(' }, 'pattern "("', 'not a valid regular expression');
    refused({ pattern: 5 as unknown as string }, 'pattern must be a string');
    refused({ applyTo: 'both' }, 'apply-to "both" unrecognised', 'queues, classic_queues, quorum_queues, streams, exchanges');
    refused({ priority: 1.5 }, 'priority must be an integer, got 1.5');
    refused({ priority: '1' as unknown as number }, 'priority must be an integer, got "1"');
    refused({ definition: {} }, 'definition is empty');
    refused({ definition: [] as unknown as Record<string, unknown> }, 'definition must be a JSON object');
  });
});

describe('matching', () => {
  test('patterns are unanchored regular expressions; anchors apply only where written', () => {
    assert.ok(policy({ name: 'a', pattern: 'orders' }).matches('eu.orders.new'));
    assert.ok(policy({ name: 'a', pattern: '^orders' }).matches('orders.new'));
    assert.ok(!policy({ name: 'a', pattern: '^orders' }).matches('eu.orders'));
    assert.ok(!policy({ name: 'a', pattern: '^orders$' }).matches('orders.new'));
    assert.ok(policy({ name: 'a', pattern: '' }).matches('anything'), 'an empty pattern matches every name');
    assert.ok(policy({ name: 'a', pattern: '.*' }).matches(''), 'the default exchange has the empty name');
    const p = policy({ name: 'a', pattern: '^q\\.' });
    assert.ok(p.matches('q.1') && p.matches('q.1'), 'matching is stateless');
  });

  test('apply-to: which kinds of object a policy admits', () => {
    const kinds = ['exchange', 'classic_queue', 'quorum_queue', 'stream'] as const;
    const admitted = (applyTo: string) => kinds.filter((k) => policy({ name: 'a', applyTo }).appliesTo(k));
    assert.deepEqual(admitted('all'), [...kinds]);
    assert.deepEqual(admitted('queues'), ['classic_queue', 'quorum_queue', 'stream']);
    assert.deepEqual(admitted('classic_queues'), ['classic_queue']);
    assert.deepEqual(admitted('quorum_queues'), ['quorum_queue']);
    assert.deepEqual(admitted('streams'), ['stream']);
    assert.deepEqual(admitted('exchanges'), ['exchange']);
  });

  test('the matching policy of highest priority applies; apply-to filters before priority', () => {
    const set = new PolicySet();
    set.set(policy({ name: 'low', pattern: '^q', priority: 1 }));
    set.set(policy({ name: 'high', pattern: '^q\\.', priority: 10 }));
    set.set(policy({ name: 'ex-only', pattern: '.*', priority: 100, applyTo: 'exchanges' }));
    assert.equal(set.match('classic_queue', 'q.1')?.name, 'high');
    assert.equal(set.match('classic_queue', 'qx')?.name, 'low', 'high does not match qx');
    assert.equal(set.match('classic_queue', 'other'), undefined);
    assert.equal(set.match('exchange', 'q.1')?.name, 'ex-only');
    set.set(policy({ name: 'negative', pattern: '.*', priority: -5, applyTo: 'queues' }));
    assert.equal(set.match('classic_queue', 'other')?.name, 'negative');
  });

  test('equal priorities: the smaller name wins, whatever the order they were set in', () => {
    for (const order of [['b', 'a', 'c'], ['c', 'b', 'a'], ['a', 'c', 'b']]) {
      const set = new PolicySet();
      for (const name of order) set.set(policy({ name, priority: 3 }));
      assert.equal(set.match('classic_queue', 'q')?.name, 'a', `set in order ${order.join(',')}`);
    }
  });

  test('replace and delete change the choice; list is by name', () => {
    const set = new PolicySet();
    const first = policy({ name: 'p', priority: 1 });
    assert.equal(set.set(first), undefined);
    set.set(policy({ name: 'other', priority: 2 }));
    assert.equal(set.match('classic_queue', 'q')?.name, 'other');
    const replacement = policy({ name: 'p', priority: 5 });
    assert.equal(set.set(replacement), first, 'set returns the replaced policy');
    assert.equal(set.match('classic_queue', 'q'), replacement);
    assert.deepEqual(set.list().map((p) => p.name), ['other', 'p']);
    assert.equal(set.delete('p'), replacement);
    assert.equal(set.delete('p'), undefined);
    assert.equal(set.match('classic_queue', 'q')?.name, 'other');
    assert.equal(set.size, 1);
  });
});
