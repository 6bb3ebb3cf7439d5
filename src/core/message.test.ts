import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeProperties } from '../protocol/amqp/codec/properties.js';
import { expirationProblem, Message, parseTtl } from './message.js';

const withProps = (p: Parameters<typeof encodeProperties>[0]): Message => new Message('', 'k', encodeProperties(p), Buffer.alloc(0));

test('mayHaveCcOrBcc: true for CC or BCC keys, false without headers, for an empty table, or for look-alike keys', () => {
  assert.equal(withProps({}).mayHaveCcOrBcc, false);
  assert.equal(withProps({ headers: {} }).mayHaveCcOrBcc, false);
  assert.equal(withProps({ contentType: 'text/plain', headers: {} }).mayHaveCcOrBcc, false);
  assert.equal(withProps({ headers: { CC: ['a'] } }).mayHaveCcOrBcc, true);
  assert.equal(withProps({ headers: { BCC: ['a'] } }).mayHaveCcOrBcc, true);
  assert.equal(withProps({ contentType: 'CC', headers: { x: 1, BCC: ['a'] } }).mayHaveCcOrBcc, true);
  assert.equal(withProps({ headers: { XCC: 'y', ACCT: 1 } }).mayHaveCcOrBcc, false);
});

test('per-message TTL: RabbitMQ\'s expiration rules', () => {
  assert.equal(withProps({ expiration: '1500' }).ttl, 1500);
  assert.equal(withProps({}).ttl, -1);
  assert.equal(parseTtl('0'), 0);
  assert.equal(expirationProblem('abc'), 'no_integer');
  assert.equal(expirationProblem('10x'), '{leftover_string,"x"}');
  assert.equal(expirationProblem('-1'), '{value_negative,-1}');
  assert.equal(expirationProblem('315360000001'), '{value_too_large,315360000001}');
  assert.equal(expirationProblem('315360000000'), undefined);
});
