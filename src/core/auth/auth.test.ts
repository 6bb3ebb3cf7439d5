/** Users, password hashes and permission matching (RabbitMQ's internal auth backend semantics). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BrokerError } from '../broker-error.js';
import { ACCESS_REFUSED, NOT_ALLOWED, NOT_FOUND, PRECONDITION_FAILED } from '../reply-codes.js';
import { UserRegistry } from '../users.js';
import { VhostAccess } from './access.js';
import { decodePasswordHash, hashPassword, MD5, passwordMatches, SHA256, SHA512 } from './password.js';
import { PermissionStore } from './permissions.js';

const code = (c: number) => (err: unknown) => err instanceof BrokerError && err.replyCode === c;

test('hashes have RabbitMQ layout: the example of its password docs (salt 908DC60A, "test12")', () => {
  const hash = hashPassword('test12', SHA256, Buffer.from('908DC60A', 'hex'));
  assert.equal(hash.toString('base64'), 'kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR');
});

test('sha512 and md5 hashes made elsewhere (python hashlib, same layout) verify; others do not', () => {
  const cases = [
    [SHA256, 'AQIDBE9skmuBchcwuhKDvVscFGTND++y2wcv/NL1rVA61/5C'],
    [SHA512, 'AQIDBFX7b5898G6MIFbTNk/v0gVfH38vNlUz8970Zz/KAf5H6OYNQIf1/lXcUWP716GWSO88NEHvdaUXlQA5nLUddAU='],
    [MD5, 'AQIDBN4qdpi6Jz9WZ8PBw2TFod0='],
  ] as const;
  for (const [alg, b64] of cases) {
    const hash = decodePasswordHash(b64, alg);
    assert.ok(passwordMatches(hash, alg, 'pässword'), alg);
    assert.ok(!passwordMatches(hash, alg, 'password'), alg);
  }
  // A hash of the wrong length for its algorithm is refused rather than never matching silently.
  assert.throws(() => decodePasswordHash(cases[2][1], SHA256), code(PRECONDITION_FAILED));
  assert.ok(!passwordMatches(Buffer.alloc(0), SHA256, ''), 'no password, empty attempt');
});

test('users: add refuses duplicates, put replaces, tags from a list or a comma string, unknown algorithms refused', () => {
  const users = new UserRegistry();
  users.add('u', { password: 'p', tags: 'administrator, monitoring,,custom' });
  assert.deepEqual(users.get('u')!.tags, ['administrator', 'monitoring', 'custom']);
  assert.equal(users.get('u')!.hashingAlgorithm, SHA256);
  assert.throws(() => users.add('u', { password: 'x' }), code(PRECONDITION_FAILED));
  users.put('u', { password: 'q', hashingAlgorithm: SHA512, tags: [] });
  assert.equal(users.get('u')!.passwordHash.length, 4 + 64);
  assert.deepEqual(users.get('u')!.tags, []);
  assert.throws(() => users.put('v', { passwordHash: 'x', hashingAlgorithm: 'Bcrypt' }), code(PRECONDITION_FAILED));
  assert.throws(() => users.put('v', { password: 'a', passwordHash: '' }), code(PRECONDITION_FAILED));
  assert.throws(() => users.put('', { password: 'a' }), code(PRECONDITION_FAILED));
  assert.throws(() => users.delete('nobody'), code(NOT_FOUND));
  users.delete('u');
  assert.equal(users.get('u'), undefined);
});

test('authentication: right password, wrong password, no password, empty password, loopback-only guest', () => {
  const users = new UserRegistry();
  users.put('guest', { password: 'guest' });
  users.put('alice', { password: 'secret' });
  users.put('cert-only', {}); // no password: RabbitMQ makes such users for x509 / external auth
  assert.equal(users.authenticate('PLAIN', 'alice', 'secret', false).name, 'alice');
  assert.throws(() => users.authenticate('PLAIN', 'alice', 'Secret', true), code(ACCESS_REFUSED));
  assert.throws(() => users.authenticate('PLAIN', 'nobody', 'secret', true), code(ACCESS_REFUSED));
  assert.throws(() => users.authenticate('PLAIN', 'cert-only', '', true), code(ACCESS_REFUSED));
  users.put('blank', { password: '' });
  assert.throws(() => users.authenticate('PLAIN', 'blank', '', true), code(ACCESS_REFUSED), 'blank passwords never log in');
  assert.equal(users.authenticate('PLAIN', 'guest', 'guest', true).name, 'guest');
  assert.throws(() => users.authenticate('PLAIN', 'guest', 'guest', false), /can only connect via localhost/);
  // Name-based, like loopback_users: a re-created guest is still restricted.
  users.delete('guest');
  users.put('guest', { password: 'other' });
  assert.throws(() => users.authenticate('PLAIN', 'guest', 'other', false), /can only connect via localhost/);
});

test('users round-trip through RabbitMQ-shaped definitions (hash and algorithm kept)', () => {
  const users = new UserRegistry();
  users.put('a', { password: 'pw', hashingAlgorithm: MD5, tags: ['management'], limits: { 'max-connections': 5 } });
  users.put('b', {});
  const defs = users.toDefinitions();
  assert.deepEqual(defs.map((d) => [d.name, d.hashing_algorithm, d.tags]), [['a', MD5, ['management']], ['b', SHA256, []]]);
  const again = new UserRegistry();
  for (const d of defs) again.restore(d);
  assert.equal(again.authenticate('PLAIN', 'a', 'pw', true).name, 'a');
  assert.deepEqual(again.get('a')!.limits, { 'max-connections': 5 });
  assert.equal(again.get('b')!.passwordHash.length, 0);
  // RabbitMQ 3.x exports tags as a comma-separated string.
  again.restore({ name: 'c', password_hash: '', hashing_algorithm: SHA256, tags: 'administrator,policymaker' });
  assert.deepEqual(again.get('c')!.tags, ['administrator', 'policymaker']);
});

test('permission expressions: unanchored search, "" matches nothing, ".*" everything, anchors where written', () => {
  const store = new PermissionStore();
  store.set('u', '/', { configure: '', write: '.*', read: '^app\\.' });
  const a = new VhostAccess(store, 'u', '/');
  assert.ok(!a.allowed('configure', 'queue', 'anything'));
  assert.ok(!a.allowed('configure', 'exchange', ''), 'the default exchange is amq.default, not ""');
  assert.ok(a.allowed('write', 'exchange', ''));
  assert.ok(a.allowed('read', 'queue', 'app.orders'));
  assert.ok(!a.allowed('read', 'queue', 'my.app.orders'));
  store.set('u', '/', { configure: 'tmp', write: '', read: '' });
  assert.ok(a.allowed('configure', 'queue', 'a-tmp-queue'), 'unanchored: found anywhere in the name');
  assert.throws(() => store.set('u', '/', { configure: '(', write: '', read: '' }), code(PRECONDITION_FAILED));
  assert.equal(store.get('u', '/')!.configure, 'tmp', 'a bad expression changes nothing');
});

test('refusals carry RabbitMQ text and codes; the default exchange is named amq.default', () => {
  const store = new PermissionStore();
  store.set('u', 'v', { configure: '', write: '', read: '' });
  const a = new VhostAccess(store, 'u', 'v');
  assert.throws(() => a.check('configure', 'queue', 'q'),
    (e: unknown) => e instanceof BrokerError && e.replyCode === ACCESS_REFUSED
      && e.message === "ACCESS_REFUSED - configure access to queue 'q' in vhost 'v' refused for user 'u'");
  assert.throws(() => a.checkPublish(''), /write access to exchange 'amq.default' in vhost 'v' refused for user 'u'/);
  a.checkVhostAccess(); // some entry, however empty, gives access to the vhost
  const none = new VhostAccess(store, 'u', 'other');
  assert.throws(() => none.checkVhostAccess(),
    (e: unknown) => e instanceof BrokerError && e.replyCode === NOT_ALLOWED && /access to vhost 'other' refused for user 'u'/.test(e.message));
});

test('cached decisions follow permission changes at once (generation counter)', () => {
  const store = new PermissionStore();
  store.set('u', '/', { configure: '', write: '^x$', read: '' });
  const a = new VhostAccess(store, 'u', '/');
  a.checkPublish('x');
  a.checkPublish('x'); // cached
  store.set('u', '/', { configure: '', write: '^y$', read: '' });
  assert.throws(() => a.checkPublish('x'), code(ACCESS_REFUSED));
  a.checkPublish('y');
  store.clear('u', '/');
  assert.throws(() => a.checkPublish('y'), code(ACCESS_REFUSED));
  assert.equal(a.hasVhostAccess, false);
  store.set('other', '/', { configure: '.*', write: '.*', read: '.*' });
  assert.equal(a.hasVhostAccess, false, "someone else's permissions do not leak");
});

test('declare checks: configure always; DLX / AE need read on the object and write on the target when new', () => {
  const store = new PermissionStore();
  store.set('u', '/', { configure: '.*', write: '^allowed$', read: '^q|^x' });
  const a = new VhostAccess(store, 'u', '/');
  a.checkQueueDeclare('q', { 'x-dead-letter-exchange': 'allowed' }, true);
  assert.throws(() => a.checkQueueDeclare('q', { 'x-dead-letter-exchange': 'dlx' }, true), /write access to exchange 'dlx'/);
  a.checkQueueDeclare('q', { 'x-dead-letter-exchange': 'dlx' }, false); // existing queue: configure only
  assert.throws(() => a.checkQueueDeclare('other', { 'x-dead-letter-exchange': 'allowed' }, true), /read access to queue 'other'/);
  a.checkQueueDeclare('other', { 'x-dead-letter-exchange': 42 }, true); // wrong type: left to the 406 of validation
  a.checkExchangeDeclare('x', { 'alternate-exchange': 'allowed' }, true);
  assert.throws(() => a.checkExchangeDeclare('x', { 'alternate-exchange': 'ae' }, true), /write access to exchange 'ae'/);
  assert.throws(() => a.checkExchangeDeclare('y', { 'alternate-exchange': 'allowed' }, true), /read access to exchange 'y'/);
});

test('topic permissions: per exchange, absent means allowed, {username}/{vhost} expanded, "" is ^$', () => {
  const store = new PermissionStore();
  store.set('u', 'v', { configure: '.*', write: '.*', read: '.*' });
  const a = new VhostAccess(store, 'u', 'v');
  a.checkTopic('write', 'amq.topic', 'anything');
  store.setTopic('u', 'v', { exchange: 'amq.topic', write: '^{username}\\.{vhost}\\.', read: '' });
  a.checkTopic('write', 'amq.topic', 'u.v.orders');
  assert.throws(() => a.checkTopic('write', 'amq.topic', 'w.v.orders'),
    /write access to topic 'w.v.orders' in exchange 'amq.topic' in vhost 'v' refused for user 'u'/);
  assert.throws(() => a.checkTopic('read', 'amq.topic', 'x'), code(ACCESS_REFUSED));
  a.checkTopic('read', 'amq.topic', ''); // '' is '^$': only the empty key
  a.checkTopic('write', 'other.topic', 'w.v.orders'); // no topic permission for that exchange
  assert.deepEqual(store.listTopic().map((p) => p.write), ['^{username}\\.{vhost}\\.'], 'stored as given');
  assert.equal(store.clearTopic('u', 'v', 'amq.topic'), true);
  a.checkTopic('write', 'amq.topic', 'w.v.orders');
  assert.equal(store.clearTopic('u', 'v'), false);
});

test('removing a user or vhost removes its permissions and topic permissions', () => {
  const store = new PermissionStore();
  const all = { configure: '.*', write: '.*', read: '.*' };
  store.set('a', '/', all);
  store.set('a', 'v', all);
  store.set('b', 'v', all);
  store.setTopic('a', 'v', { exchange: 't', write: '', read: '' });
  store.setTopic('b', '/', { exchange: 't', write: '', read: '' });
  store.removeAll({ vhost: 'v' });
  assert.deepEqual(store.list().map((p) => `${p.user}@${p.vhost}`), ['a@/']);
  assert.deepEqual(store.listTopic().map((p) => `${p.user}@${p.vhost}`), ['b@/']);
  store.removeAll({ user: 'b' });
  assert.deepEqual(store.listTopic(), []);
  assert.deepEqual(store.list({ user: 'a' }).map((p) => p.vhost), ['/']);
});
