// Durable topology is saved coalesced (one save per event-loop turn, core/write-barrier.ts), yet a
// client never sees declare-ok for something a crash right after would lose: kill -9 the broker
// the moment the last reply arrives, and everything confirmed comes back.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import amqp from 'amqplib';
import { Outbox } from '../src/protocol/amqp/outbox.js';
import { startTestBroker } from './helpers/broker.js';
import { killAllBrokers, startBroker } from './helpers/crash-harness.js';

const dirs: string[] = [];
after(() => {
  killAllBrokers();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'warren-defs-'));
  dirs.push(d);
  return d;
}

describe('durable definitions under kill -9', () => {
  test('pipelined durable declares and binds: every one confirmed survives a kill -9 right after its ok', async () => {
    const dir = dataDir();
    const b = await startBroker(dir);
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${b.port}`);
    conn.on('error', () => {});
    // Many channels declare at once: their frames arrive together and are handled in one turn.
    const channels = await Promise.all(Array.from({ length: 20 }, () => conn.createChannel()));
    await Promise.all(channels.map(async (ch, c) => {
      await ch.assertExchange(`defs-x-${c}`, 'direct', { durable: true });
      await Promise.all(Array.from({ length: 10 }, async (_, i) => {
        await ch.assertQueue(`defs-q-${c}-${i}`, { durable: true });
        await ch.bindQueue(`defs-q-${c}-${i}`, `defs-x-${c}`, `k${i}`);
      }));
    }));
    b.child.kill('SIGKILL'); // every ok above has arrived: no graceful save can happen now
    await b.exited;

    const b2 = await startBroker(dir);
    const conn2 = await amqp.connect(`amqp://guest:guest@127.0.0.1:${b2.port}`);
    try {
      const ch = await conn2.createChannel();
      for (let c = 0; c < 20; c++) {
        await ch.checkExchange(`defs-x-${c}`);
        for (let i = 0; i < 10; i++) await ch.checkQueue(`defs-q-${c}-${i}`);
      }
      // The bindings came back too: a publish through each exchange reaches its queue.
      for (let c = 0; c < 20; c++) for (let i = 0; i < 10; i++) ch.publish(`defs-x-${c}`, `k${i}`, Buffer.from(`${c}.${i}`));
      await ch.close();
      const ch2 = await conn2.createChannel();
      for (let c = 0; c < 20; c++) {
        for (let i = 0; i < 10; i++) {
          const q = await ch2.checkQueue(`defs-q-${c}-${i}`);
          assert.equal(q.messageCount, 1, `defs-q-${c}-${i} is bound to defs-x-${c} with k${i}`);
        }
      }
    } finally {
      await conn2.close();
      b2.child.kill('SIGKILL');
      await b2.exited;
    }
  });

  test('a queue deleted right before a kill -9 stays deleted', async () => {
    const dir = dataDir();
    const b = await startBroker(dir);
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${b.port}`);
    conn.on('error', () => {});
    const ch = await conn.createChannel();
    await ch.assertQueue('defs-gone', { durable: true });
    await ch.assertQueue('defs-kept', { durable: true });
    await ch.deleteQueue('defs-gone');
    b.child.kill('SIGKILL');
    await b.exited;

    const b2 = await startBroker(dir);
    const conn2 = await amqp.connect(`amqp://guest:guest@127.0.0.1:${b2.port}`);
    conn2.on('error', () => {});
    try {
      const ch2 = await conn2.createChannel();
      await ch2.checkQueue('defs-kept');
      ch2.on('error', () => {});
      await assert.rejects(ch2.checkQueue('defs-gone'), /404/);
    } finally {
      await conn2.close().catch(() => {});
      b2.child.kill('SIGKILL');
      await b2.exited;
    }
  });
});

describe('when durable definitions are saved (in-process)', () => {
  const storedQueues = (dataDir: string): string[] => {
    const file = join(dataDir, 'definitions.json');
    if (!existsSync(file)) return []; // a fresh broker has saved nothing yet
    return (JSON.parse(readFileSync(file, 'utf8')) as { queues: { name: string }[] }).queues.map((q) => q.name);
  };

  test('a declare is saved before any outbox hands bytes to a socket, even within the same turn', async () => {
    const tb = await startTestBroker();
    try {
      const vhost = tb.warren.broker.vhosts.get('/')!;
      const seenByWrite: string[][] = [];
      const socket = { destroyed: false, write: () => { seenByWrite.push(storedQueues(tb.dataDir)); return true; }, cork() {}, uncork() {} };
      const outbox = new Outbox(socket as unknown as Socket);
      // One synchronous turn: the change, then a reply flushed before the end-of-turn save could run.
      vhost.declareQueue('barrier-q', { durable: true, exclusive: false, autoDelete: false, arguments: {} }, false, null);
      assert.ok(!storedQueues(tb.dataDir).includes('barrier-q'), 'the save is coalesced: not written at the declare itself');
      outbox.writeHeartbeat();
      outbox.flush();
      assert.equal(seenByWrite.length, 1);
      assert.ok(seenByWrite[0]!.includes('barrier-q'), 'definitions.json had the queue when the reply was written');
    } finally {
      await tb.stop();
    }
  });

  test('a durable queue leaves definitions.json before its files are removed', async () => {
    const tb = await startTestBroker();
    try {
      const conn = await amqp.connect(tb.url);
      const ch = await conn.createChannel();
      await ch.assertQueue('gone-first', { durable: true });
      await conn.close();
      assert.ok(storedQueues(tb.dataDir).includes('gone-first'));
      tb.warren.broker.vhosts.get('/')!.deleteQueue('gone-first', false, false, null);
      assert.ok(!storedQueues(tb.dataDir).includes('gone-first'), 'saved synchronously, before the files went');
    } finally {
      await tb.stop();
    }
  });
});
