import assert from 'node:assert/strict';
import { test } from 'node:test';
import { integerOption, jsonObjectOption, parseArgs, UsageError } from './args.js';

const FLAGS = new Set(['durable', 'json']);

test('words, --name value and --name=value; options before the first word are kept apart', () => {
  const p = parseArgs(['--url', 'http://h:1', 'declare', 'queue', 'jobs', '--vhost=/v', '--arguments', '{"a":1}'], FLAGS);
  assert.deepEqual(p.positionals, ['declare', 'queue', 'jobs']);
  assert.deepEqual([...p.leading], [['url', 'http://h:1']]);
  assert.deepEqual([...p.options], [['vhost', '/v'], ['arguments', '{"a":1}']]);
});

test('flags take no value: --durable, --durable=false, --no-durable', () => {
  assert.equal(parseArgs(['x', '--durable', 'jobs'], FLAGS).options.get('durable'), true);
  assert.deepEqual(parseArgs(['x', '--durable', 'jobs'], FLAGS).positionals, ['x', 'jobs']);
  assert.equal(parseArgs(['x', '--durable=false'], FLAGS).options.get('durable'), false);
  assert.equal(parseArgs(['x', '--no-durable'], FLAGS).options.get('durable'), false);
  assert.throws(() => parseArgs(['x', '--durable=maybe'], FLAGS), /--durable: 'maybe' is not true or false/);
});

test('a value option takes the next word even when it starts with a dash; -- ends the options', () => {
  assert.equal(parseArgs(['publish', '--payload', '--not-an-option'], FLAGS).options.get('payload'), '--not-an-option');
  assert.equal(parseArgs(['publish', '--payload', '-1'], FLAGS).options.get('payload'), '-1');
  assert.deepEqual(parseArgs(['delete', 'queue', '--', '--odd'], FLAGS).positionals, ['delete', 'queue', '--odd']);
  assert.deepEqual(parseArgs(['publish', '--payload='], FLAGS).options.get('payload'), '');
});

test('a value option at the very end comes out as true, for the caller to report', () => {
  assert.equal(parseArgs(['list', 'queues', '--vhost'], FLAGS).options.get('vhost'), true);
});

test('an option given twice is refused', () => {
  assert.throws(() => parseArgs(['x', '--vhost', 'a', '--vhost', 'b'], FLAGS), (err: unknown) => err instanceof UsageError && /--vhost given twice/.test(err.message));
  // Once before the command words and once after is two different places (connection and command).
  const p = parseArgs(['--user', 'admin', 'set', 'permissions', '--user', 'bob'], FLAGS);
  assert.equal(p.leading.get('user'), 'admin');
  assert.equal(p.options.get('user'), 'bob');
});

test('JSON and integer option values', () => {
  assert.deepEqual(jsonObjectOption('arguments', '{"x-max-length": 5}'), { 'x-max-length': 5 });
  assert.throws(() => jsonObjectOption('arguments', '{bad'), /--arguments: not valid JSON/);
  assert.throws(() => jsonObjectOption('arguments', '[1]'), /--arguments: expected a JSON object/);
  assert.equal(integerOption('count', '3', 1), 3);
  assert.throws(() => integerOption('count', '0', 1), /--count: '0' is not a whole number of at least 1/);
  assert.throws(() => integerOption('count', '2.5', 1), UsageError);
  assert.equal(integerOption('priority', '-4', Number.MIN_SAFE_INTEGER), -4);
});
