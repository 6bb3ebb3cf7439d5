/**
 * A damaged message log through the whole broker and an unmodified RabbitMQ client (amqplib):
 * persistent messages published with confirms to durable queues, the broker stopped, one segment
 * file damaged on disk, a new broker started on the same data directory. Start-up must succeed,
 * every undamaged message must be delivered (in order, once), and the damage must be logged with
 * the queue's name. (Unit-level corruption cases: src/store/segment/segment-corruption*.test.ts.)
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Channel, GetMessage } from 'amqplib';
import { startTestBroker } from './helpers/broker.js';
import type { TestBroker } from './helpers/broker.js';
import { clientHelpers, qname } from './helpers/amqp-client.js';
import { captureLogs, padded, recordsIn, segmentFiles } from '../src/store/segment/segment-test-helpers.js';

const OPTIONS = { segmentBytes: 4096, fsync: false };
const N = 60;
const dataDir = mkdtempSync(join(tmpdir(), 'warren-corrupt-'));
let broker: TestBroker | undefined;
after(async () => {
  await broker?.warren.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const { withConn, confirmChannel, channel } = clientHelpers(() => broker!.url);
const labels = (prefix: string): string[] => Array.from({ length: N }, (_, i) => `${prefix}${i}`);
const unpad = (s: string): string => s.replace(/\.+$/, '');

/** Every ready message, by basic.get with no-ack (amqplib's socket has Nagle on: an ack between gets costs ~40 ms each). */
async function getAll(ch: Channel, queue: string): Promise<GetMessage[]> {
  const out: GetMessage[] = [];
  for (let m = await ch.get(queue, { noAck: true }); m; m = await ch.get(queue, { noAck: true })) out.push(m);
  return out;
}

test('a corrupt record and a torn tail in one durable queue: the broker starts, delivers every undamaged message, logs the damage with the queue name', async () => {
  const damaged = qname('damaged');
  const intact = qname('intact');
  broker = await startTestBroker(OPTIONS, dataDir);
  await withConn(async (conn) => {
    const ch = await confirmChannel(conn);
    for (const q of [damaged, intact]) {
      await ch.assertQueue(q, { durable: true });
      for (const l of labels(q === damaged ? 'd' : 'i')) ch.sendToQueue(q, Buffer.from(padded(l, 200)), { persistent: true });
    }
    await ch.waitForConfirms();
  });
  const dir = broker.warren.broker.messages.queueDir('/', damaged);
  await broker.warren.stop();

  // Damage: flip body bytes of a record in the middle of the second segment, and tear the last record.
  const files = segmentFiles(dir);
  assert.ok(files.length >= 3, `several segments (${files.join(', ')})`);
  const middle = join(dir, files[1]!);
  const recs = recordsIn(middle);
  const victim = recs[Math.floor(recs.length / 2)]!;
  const buf = readFileSync(middle);
  for (let i = 0; i < 8; i++) buf[victim.bodyStart + 40 + i]! ^= 0x5a;
  writeFileSync(middle, buf);
  const lastPath = join(dir, files.at(-1)!);
  const lastRecs = recordsIn(lastPath);
  const torn = lastRecs.at(-1)!;
  truncateSync(lastPath, torn.offset + torn.size - 3);
  const lost = [unpad(victim.body), unpad(torn.body)];
  assert.equal(lost[1], 'd59');

  const logs = captureLogs('error');
  try {
    broker = await startTestBroker(OPTIONS, dataDir);
  } finally {
    logs.stop();
  }
  const store = logs.lines.filter((l) => l.component === 'store');
  const warnings = store.filter((l) => l.level === 'warn');
  assert.equal(warnings.length, 2, JSON.stringify(store));
  for (const w of warnings) {
    assert.equal(typeof w.queue, 'string');
    assert.ok((w.queue as string).includes(`'${damaged}'`), `the warning names the queue: ${JSON.stringify(w)}`);
  }
  assert.ok(warnings.some((w) => /corrupt record/.test(w.msg)), 'the corrupt record is reported');
  assert.ok(warnings.some((w) => /truncat/.test(w.msg)), 'the torn tail is reported');
  assert.ok(!store.some((l) => String(l.queue).includes(`'${intact}'`) && l.level !== 'info'), 'nothing wrong with the intact queue');

  await withConn(async (conn) => {
    const ch = await channel(conn);
    assert.equal((await ch.checkQueue(damaged)).messageCount, N - 2);
    const got = await getAll(ch, damaged);
    assert.deepEqual(got.map((m) => unpad(m.content.toString())), labels('d').filter((l) => !lost.includes(l)));
    assert.ok(got.every((m) => !m.fields.redelivered), 'never delivered before the restart');
    assert.ok(got.every((m) => m.properties.deliveryMode === 2));
    assert.deepEqual((await getAll(ch, intact)).map((m) => unpad(m.content.toString())), labels('i'));

    // The recovered queue takes new messages as usual.
    const cch = await confirmChannel(conn);
    cch.sendToQueue(damaged, Buffer.from('after'), { persistent: true });
    await cch.waitForConfirms();
    assert.deepEqual((await getAll(ch, damaged)).map((m) => m.content.toString()), ['after']);
  });

  // Everything acked: a further restart brings nothing back and logs no new damage.
  const again = captureLogs('error');
  try {
    broker = await broker.restart();
  } finally {
    again.stop();
  }
  assert.ok(!again.lines.some((l) => l.level === 'warn' && l.component === 'store'), JSON.stringify(again.lines));
  await withConn(async (conn) => {
    const ch = await channel(conn);
    assert.equal((await ch.checkQueue(damaged)).messageCount, 0);
    assert.equal((await ch.checkQueue(intact)).messageCount, 0);
  });
});
