/** A vhost's policies reaching its queues and exchanges: at set, at delete, at declare. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setLogLevel } from '../../log.js';
import { MemoryQueueStore } from '../../store/memory/memory-queue-store.js';
import { BrokerError } from '../broker-error.js';
import { NOT_FOUND, PRECONDITION_FAILED } from '../reply-codes.js';
import type { VhostHost } from '../vhost.js';
import { VirtualHost } from '../vhost.js';

if (!process.env.WARREN_LOG_LEVEL) setLogLevel('error'); // quiet: the tests provoke refusals

function vhost(): { v: VirtualHost; changes: () => number } {
  let changes = 0;
  const host: VhostHost = {
    createQueueStore: () => new MemoryQueueStore(),
    definitionsChanged: () => void changes++,
    topologyChanged: () => void changes++,
    openDedupJournal: () => { throw new Error('no durable queues in these tests'); },
    openDelayStore: () => { throw new Error('no delayed exchanges in these tests'); },
  };
  return { v: new VirtualHost('/', host), changes: () => changes };
}
const qopts = { durable: false, exclusive: false, autoDelete: false, arguments: {} };
const xopts = { durable: false, autoDelete: false, internal: false, arguments: {} };

test('setting a policy applies it to existing queues and exchanges it matches, and only those', () => {
  const { v, changes } = vhost();
  const a = v.declareQueue('a.1', qopts, false, null);
  const b = v.declareQueue('b.1', qopts, false, null);
  const ax = v.declareExchange('a.x', 'direct', xopts, false);
  const p = v.setPolicy({ name: 'a', pattern: '^a\\.', definition: { 'max-length': 5, 'alternate-exchange': 'ae' } });
  assert.equal(a.policy, p);
  assert.equal(a.settings.maxLength, 5);
  assert.equal(b.policy, undefined);
  assert.equal(b.settings.maxLength, undefined);
  assert.equal(ax.policy, p);
  assert.equal(ax.alternateExchange, 'ae');
  assert.equal(v.exchanges.get('amq.direct')!.policy, undefined);
  assert.equal(changes(), 1, 'policies are durable: the definitions are written');
});

test('replacing and deleting a policy re-applies; an unaffected object keeps its settings object', () => {
  const { v } = vhost();
  const q = v.declareQueue('q', qopts, false, null);
  v.setPolicy({ name: 'ttl', pattern: '^q$', definition: { 'message-ttl': 1000 } });
  assert.equal(q.settings.messageTtl, 1000);
  v.setPolicy({ name: 'ttl', pattern: '^q$', definition: { 'message-ttl': 2000 } });
  assert.equal(q.settings.messageTtl, 2000);
  v.setPolicy({ name: 'len', pattern: '^q$', priority: 1, definition: { 'max-length': 3 } });
  assert.equal(q.policy?.name, 'len');
  assert.equal(q.settings.messageTtl, undefined, 'only one policy applies: the higher priority one');
  assert.equal(q.settings.maxLength, 3);
  const settings = q.settings;
  v.setPolicy({ name: 'unrelated', pattern: '^zzz', definition: { 'max-length': 1 } });
  assert.equal(q.settings, settings, 'a queue whose policy did not change is not touched');
  v.deletePolicy('len');
  assert.equal(q.policy?.name, 'ttl');
  assert.equal(q.settings.messageTtl, 2000);
  v.deletePolicy('ttl');
  assert.equal(q.policy, undefined);
  assert.equal(q.settings.messageTtl, undefined);
  assert.equal(q.settings.maxLength, undefined);
});

test('new queues and exchanges get their policy at declare; the default and amq.* exchanges are matched too', () => {
  const { v } = vhost();
  v.setPolicy({ name: 'q', pattern: '', applyTo: 'queues', definition: { expires: 60000 } });
  v.setPolicy({ name: 'x', pattern: '', applyTo: 'exchanges', definition: { 'alternate-exchange': 'ae' } });
  const q = v.declareQueue('', qopts, false, null);
  assert.ok(q.name.startsWith('amq.gen-'), 'server-named queues are matched by their generated name');
  assert.equal(q.settings.expires, 60000);
  assert.equal(q.policy?.name, 'q');
  const x = v.declareExchange('new.x', 'fanout', xopts, false);
  assert.equal(x.policy?.name, 'x');
  assert.equal(v.exchanges.get('amq.topic')!.policy?.name, 'x');
  assert.equal(v.exchanges.get('')!.policy?.name, 'x');
});

test('apply-to: exchanges-only and quorum-only policies leave (classic) queues alone', () => {
  const { v } = vhost();
  const q = v.declareQueue('q', qopts, false, null);
  v.setPolicy({ name: 'x', pattern: '', applyTo: 'exchanges', priority: 9, definition: { 'alternate-exchange': 'ae' } });
  v.setPolicy({ name: 'qq', pattern: '', applyTo: 'quorum_queues', priority: 8, definition: { 'delivery-limit': 2 } });
  assert.equal(q.policy?.name, undefined);
  v.setPolicy({ name: 'cq', pattern: '', applyTo: 'classic_queues', definition: { 'delivery-limit': 4 } });
  assert.equal(q.policy?.name, 'cq');
  assert.equal(q.settings.deliveryLimit, 4);
});

test('an invalid policy changes nothing; deleting a missing policy is 404', () => {
  const { v, changes } = vhost();
  const q = v.declareQueue('q', qopts, false, null);
  v.setPolicy({ name: 'p', pattern: '', definition: { 'max-length': 1 } });
  assert.throws(() => v.setPolicy({ name: 'p', pattern: '', definition: { 'max-length': 'ten' } }),
    (e) => e instanceof BrokerError && e.replyCode === PRECONDITION_FAILED && /'max-length'/.test(e.message));
  assert.equal(v.getPolicy('p')?.definition['max-length'], 1);
  assert.equal(q.settings.maxLength, 1);
  assert.throws(() => v.deletePolicy('nope'), (e) => e instanceof BrokerError && e.replyCode === NOT_FOUND
    && e.message === "NOT_FOUND - no policy 'nope' in vhost '/'");
  assert.equal(changes(), 1);
  assert.deepEqual(v.listPolicies().map((p) => p.name), ['p']);
});

test('x-arguments of the queue take part: the smaller limit, the argument DLX', () => {
  const { v } = vhost();
  const q = v.declareQueue('q', { ...qopts, arguments: { 'x-max-length': 10, 'x-dead-letter-exchange': 'mine', 'x-max-priority': 5 } }, false, null);
  v.setPolicy({ name: 'p', pattern: '', definition: { 'max-length': 20, 'dead-letter-exchange': 'theirs', 'message-ttl': 5 } });
  assert.equal(q.settings.maxLength, 10);
  assert.equal(q.settings.deadLetterExchange, 'mine');
  assert.equal(q.settings.messageTtl, 5);
  assert.equal(q.settings.maxPriority, 5, 'x-max-priority is untouched by policies');
  v.setPolicy({ name: 'p', pattern: '', definition: { 'max-length': 4 } });
  assert.equal(q.settings.maxLength, 4);
  assert.deepEqual(q.arguments, { 'x-max-length': 10, 'x-dead-letter-exchange': 'mine', 'x-max-priority': 5 }, 'declared arguments are unchanged');
});
