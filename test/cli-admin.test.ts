import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import amqp from 'amqplib';
import type { TestBroker } from './helpers/broker.js';
import { startTestBroker, waitFor } from './helpers/broker.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

interface Result { code: number | null; stdout: string; stderr: string }

/**
 * Runs `warren ARGS…` as a child process. Asynchronously: the broker runs in this process, so a
 * synchronous spawn would block the very event loop that has to answer the CLI's requests.
 */
function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<Result> {
  // The caller's WARREN_* settings must not leak into the CLI under test.
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['WARREN_URL', 'WARREN_USER', 'WARREN_PASSWORD']) delete env[k];
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(opts.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(timer);
    resolve({ code, stdout, stderr });
  }));
}

let broker: TestBroker;
const url = (b: TestBroker = broker): string => `http://127.0.0.1:${b.warren.managementPort}`;
/** `warren --url <test broker> ARGS…`, asserting exit 0 unless told otherwise. */
async function warren(...args: string[]): Promise<Result> {
  const r = await runCli(['--url', url(), ...args]);
  assert.equal(r.code, 0, `warren ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
}
async function json(...args: string[]): Promise<any> {
  return JSON.parse((await warren(...args, '--json')).stdout);
}

const dirs: string[] = [];
before(async () => {
  broker = await startTestBroker({ managementPort: 0 });
});
after(async () => {
  await broker.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Start column of each header field, so cells can be checked against it. */
function columnsOf(table: string): { lines: string[]; header: string } {
  const lines = table.trimEnd().split('\n');
  return { lines, header: lines[0]! };
}

describe('warren admin commands', () => {
  test('list queues: an aligned table (text left, numbers right) and --json', async () => {
    await warren('declare', 'queue', 'a', '--durable');
    await warren('declare', 'queue', 'a-much-longer-queue-name');
    await Promise.all(Array.from({ length: 12 }, (_, i) => warren('publish', '--routing-key', 'a-much-longer-queue-name', '--payload', `m${i}`)));
    const { lines, header } = columnsOf((await warren('list', 'queues')).stdout);
    assert.match(header, /^vhost\s+name\s+messages\s+messages_ready\s+messages_unacknowledged\s+consumers$/);
    const row = lines.find((l) => l.includes('a-much-longer-queue-name'))!;
    const short = lines.find((l) => /\sa\s/.test(l))!;
    // Text columns start where their header starts.
    assert.equal(row.indexOf('a-much-longer-queue-name'), header.indexOf('name'));
    assert.equal(short.indexOf(' a ') + 1, header.indexOf('name'));
    // Number columns end where their header ends: "12" under "messages_ready", right-aligned.
    const end = header.indexOf('messages_ready') + 'messages_ready'.length;
    assert.equal(row.slice(end - 2, end), '12');
    assert.equal(short.slice(end - 1, end), '0');
    assert.equal(short[end - 2], ' ');

    const list = await json('list', 'queues');
    const q = list.find((x: { name: string }) => x.name === 'a-much-longer-queue-name');
    assert.equal(q.messages_ready, 12);
    assert.equal(list.find((x: { name: string }) => x.name === 'a').durable, true);
    assert.equal(q.durable, false, 'transient unless --durable');

    const cols = (await warren('list', 'queues', '--vhost', '/', '--columns', 'name,durable')).stdout;
    assert.match(cols, /^name\s+durable\n/);
    await warren('delete', 'queue', 'a');
    await warren('delete', 'queue', 'a-much-longer-queue-name');
  });

  test('declare, bind, publish, get, purge, unbind and delete: a round trip', async () => {
    assert.match((await warren('declare', 'exchange', 'logs', '--type', 'topic', '--durable')).stdout, /declared exchange 'logs' in vhost '\/'/);
    await warren('declare', 'queue', 'errors', '--arguments', '{"x-max-length": 100}');
    await warren('declare', 'binding', '--source', 'logs', '--destination', 'errors', '--routing-key', '*.error');
    await warren('declare', 'exchange', 'fan', '--type', 'fanout');
    await warren('declare', 'binding', '--source', 'logs', '--destination', 'fan', '--destination-type', 'exchange', '--routing-key', '#');

    const bindings = (await warren('list', 'bindings')).stdout;
    assert.match(bindings, /logs\s+errors\s+queue\s+\*\.error/);
    assert.match(bindings, /logs\s+fan\s+exchange\s+#/);
    const ex = (await json('list', 'exchanges')).find((x: { name: string }) => x.name === 'logs');
    assert.equal(ex.type, 'topic');
    assert.equal(ex.durable, true);

    assert.equal((await warren('publish', '--exchange', 'logs', '--routing-key', 'db.error', '--payload', 'disk full',
      '--properties', '{"content_type": "text/plain", "headers": {"h": 1}}')).stdout, 'routed: true\n');
    assert.equal((await warren('publish', '--exchange', 'logs', '--routing-key', 'db.error', '--payload', 'again')).stdout, 'routed: true\n');
    // The payload may come from stdin.
    const piped = await runCli(['--url', url(), 'publish', '--exchange', 'logs', '--routing-key', 'x.error'], { input: 'from stdin' });
    assert.equal(piped.stdout, 'routed: true\n', piped.stderr);
    assert.equal((await warren('publish', '--routing-key', 'no-such-queue', '--payload', 'lost')).stdout, 'routed: false\n');
    assert.deepEqual(await json('publish', '--routing-key', 'no-such-queue', '--payload', 'lost'), { routed: false });

    // get peeks by default (ack_requeue_true): the messages stay.
    const peek = (await warren('get', '--queue', 'errors', '--count', '2')).stdout;
    assert.match(peek.split('\n')[0]!, /^exchange\s+routing_key\s+redelivered\s+message_count\s+payload_bytes\s+payload_encoding\s+payload$/);
    assert.match(peek, /logs\s+db\.error\s+false\s+2\s+9\s+string\s+disk full/);
    const got = await json('get', '--queue', 'errors', '--count', '5');
    assert.deepEqual(got.map((m: { payload: string }) => m.payload), ['disk full', 'again', 'from stdin']);
    assert.equal(got[0].redelivered, true);
    assert.equal(got[0].properties.content_type, 'text/plain');
    assert.equal((await json('list', 'queues')).find((x: { name: string }) => x.name === 'errors').messages, 3);

    // ack_requeue_false takes one away.
    await warren('get', '--queue', 'errors', '--ackmode', 'ack_requeue_false');
    assert.equal((await json('list', 'queues')).find((x: { name: string }) => x.name === 'errors').messages, 2);

    assert.match((await warren('purge', 'queue', 'errors')).stdout, /purged queue 'errors'/);
    assert.equal((await warren('get', '--queue', 'errors')).stdout, "no messages in queue 'errors' in vhost '/'\n");

    await warren('delete', 'binding', '--source', 'logs', '--destination', 'errors', '--routing-key', '*.error');
    await warren('delete', 'binding', '--source', 'logs', '--destination', 'fan', '--destination-type', 'exchange', '--routing-key', '#');
    assert.equal((await warren('publish', '--exchange', 'logs', '--routing-key', 'db.error', '--payload', 'x')).stdout, 'routed: false\n');
    // A binding with arguments is found by them.
    await warren('declare', 'binding', '--source', 'logs', '--destination', 'errors', '--routing-key', 'k', '--arguments', '{"x-a": 1, "x-b": "two"}');
    await warren('delete', 'binding', '--source', 'logs', '--destination', 'errors', '--routing-key', 'k', '--arguments', '{"x-b": "two", "x-a": 1}');
    assert.equal((await json('list', 'bindings')).filter((b: { source: string }) => b.source === 'logs').length, 0);

    await warren('delete', 'queue', 'errors', '--if-empty');
    await warren('delete', 'exchange', 'logs', '--if-unused');
    await warren('delete', 'exchange', 'fan');
    const names = (await json('list', 'exchanges')).map((x: { name: string }) => x.name);
    assert.ok(!names.includes('logs') && !names.includes('fan'));
    assert.ok(!(await json('list', 'queues')).some((x: { name: string }) => x.name === 'errors'));
  });

  test('connections, channels and consumers are listed; close connection closes one with 320', async () => {
    const conn = await amqp.connect(broker.url);
    const closed = new Promise<Error>((resolve) => conn.on('close', resolve));
    conn.on('error', () => {});
    const ch = await conn.createChannel();
    await ch.assertQueue('watched', { durable: false });
    await ch.consume('watched', () => {}, { consumerTag: 'cli-test-consumer' });

    const conns = await json('list', 'connections');
    assert.equal(conns.length, 1);
    const name = conns[0].name as string;
    assert.match((await warren('list', 'connections')).stdout, /^name\s+user\s+vhost\s+state\s+channels\s+peer_host\s+peer_port\n.*guest\s+\/\s+running\s+1\s+127\.0\.0\.1/);
    assert.match((await warren('list', 'channels', '--vhost', '/')).stdout, /guest\s+\/\s+1\s+0\s+0\s+false/);
    assert.match((await warren('list', 'consumers')).stdout, /^queue\.vhost\s+queue\.name\s+consumer_tag.*\n\/\s+watched\s+cli-test-consumer\s/);
    assert.equal((await json('list', 'consumers', '--vhost', '/'))[0].consumer_tag, 'cli-test-consumer');

    assert.match((await warren('close', 'connection', name, '--reason', 'maintenance window')).stdout, /closed connection/);
    const err = await closed as Error & { code?: number };
    assert.equal(err.code, 320);
    assert.match(err.message, /maintenance window/);
    await waitFor(() => broker.warren.broker.vhosts.get('/')!.queues.get('watched')?.consumerCount === 0, 5000, 'consumer gone');
    await warren('delete', 'queue', 'watched');
  });

  test('add vhost, add user, set permissions: the user can then log in over AMQP; delete undoes it', async () => {
    assert.equal((await warren('add', 'vhost', 'team-a', '--description', 'team A')).stdout, "added vhost 'team-a'\n");
    assert.equal((await warren('add', 'user', 'carol', '--password', 'c4rol!', '--tags', 'monitoring,policymaker')).stdout, "added user 'carol'\n");
    await warren('set', 'permissions', '--vhost', 'team-a', '--user', 'carol', '--configure', '^carol\\.', '--write', '.*', '--read', '.*');

    assert.match((await warren('list', 'users')).stdout, /carol\s+monitoring,policymaker/);
    assert.match((await warren('list', 'vhosts')).stdout, /^team-a\s+0\s+0\s+0$/m);
    // guest created the vhost over the API, so it has full permissions there too (as in RabbitMQ).
    assert.match((await warren('list', 'permissions', '--vhost', 'team-a')).stdout, /^user\s+vhost\s+configure\s+write\s+read\ncarol\s+team-a\s+\^carol\\\.\s+\.\*\s+\.\*\nguest\s+team-a\s+\.\*\s+\.\*\s+\.\*\n$/);
    assert.equal((await json('list', 'permissions')).filter((p: { user: string }) => p.user === 'carol').length, 1);

    const conn = await amqp.connect(`amqp://carol:${encodeURIComponent('c4rol!')}@127.0.0.1:${broker.port}/team-a`);
    const ch = await conn.createChannel();
    await ch.assertQueue('carol.work');
    await conn.close();

    // The connection's --user/--password go before the command words when the command has its own.
    const r = await runCli(['--url', url(), '--user', 'guest', '--password', 'guest', 'add', 'user', 'dave', '--password', 'd']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await warren('add', 'user', 'dave', '--password', 'd2')).stdout, "updated user 'dave'\n");

    await warren('delete', 'permissions', '--vhost', 'team-a', '--user', 'carol');
    await assert.rejects(amqp.connect(`amqp://carol:${encodeURIComponent('c4rol!')}@127.0.0.1:${broker.port}/team-a`));
    await warren('delete', 'user', 'carol');
    await warren('delete', 'user', 'dave');
    await warren('delete', 'vhost', 'team-a');
    assert.ok(!(await json('list', 'vhosts')).some((v: { name: string }) => v.name === 'team-a'));
    assert.ok(!(await json('list', 'users')).some((u: { name: string }) => u.name === 'carol'));
  });

  test('set policy, list policies, delete policy', async () => {
    await warren('set', 'policy', 'ttl', '--pattern', '^tmp\\.', '--definition', '{"message-ttl": 60000}', '--apply-to', 'queues', '--priority', '3');
    assert.match((await warren('list', 'policies')).stdout, /^\/\s+ttl\s+\^tmp\\\.\s+queues\s+3\s+\{"message-ttl":60000\}$/m);
    assert.equal((await warren('set', 'policy', 'ttl', '--pattern', '^tmp\\.', '--definition', '{"message-ttl": 1000}')).stdout, "replaced policy 'ttl' in vhost '/'\n");
    assert.deepEqual((await json('list', 'policies', '--vhost', '/'))[0].definition, { 'message-ttl': 1000 });
    await warren('delete', 'policy', 'ttl');
    assert.deepEqual(await json('list', 'policies'), []);
  });

  test('overview', async () => {
    const text = (await warren('overview')).stdout;
    assert.match(text, /^product\s+Warren$/m);
    assert.match(text, /^queues\s+\d+$/m);
    assert.match(text, new RegExp(`^listener amqp\\s+127\\.0\\.0\\.1:${broker.port}$`, 'm'));
    assert.equal((await json('overview')).product_name, 'Warren');
  });

  test('export to a file, import into a second broker', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-cli-admin-'));
    dirs.push(dir);
    const file = join(dir, 'defs.json');
    await warren('add', 'vhost', 'exported');
    await warren('add', 'user', 'erin', '--password', 'erin-pw');
    await warren('set', 'permissions', '--vhost', 'exported', '--user', 'erin', '--configure', '.*', '--write', '.*', '--read', '.*');
    await warren('declare', 'exchange', 'orders', '--type', 'direct', '--durable', '--vhost', 'exported');
    await warren('declare', 'queue', 'orders.new', '--durable', '--vhost', 'exported', '--arguments', '{"x-max-priority": 5}');
    await warren('declare', 'binding', '--source', 'orders', '--destination', 'orders.new', '--routing-key', 'new', '--vhost', 'exported');

    assert.match((await warren('export', file)).stdout, /exported definitions to /);
    const defs = JSON.parse(readFileSync(file, 'utf8'));
    assert.ok(defs.queues.some((q: { name: string }) => q.name === 'orders.new'));
    // Without FILE, to stdout.
    assert.deepEqual(JSON.parse((await warren('export')).stdout).queues, defs.queues);

    const second = await startTestBroker({ managementPort: 0 });
    try {
      const r = await runCli(['import', file], { env: { WARREN_URL: url(second) } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /imported definitions from /);
      const imported = JSON.parse((await runCli(['--json', 'list', 'queues', '--vhost', 'exported'], { env: { WARREN_URL: url(second) } })).stdout);
      assert.deepEqual(imported.map((q: { name: string; arguments: unknown }) => [q.name, q.arguments]), [['orders.new', { 'x-max-priority': 5 }]]);
      const routed = await runCli(['publish', '--vhost', 'exported', '--exchange', 'orders', '--routing-key', 'new', '--payload', 'o1'], { env: { WARREN_URL: url(second) } });
      assert.equal(routed.stdout, 'routed: true\n', routed.stderr);
      // The imported user logs in with its password (the hash came along).
      const conn = await amqp.connect(`amqp://erin:erin-pw@127.0.0.1:${second.port}/exported`);
      await conn.close();
    } finally {
      await second.stop();
    }
    // Importing a file that is not JSON fails naming the file.
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{not json');
    const r = await runCli(['--url', url(), 'import', bad]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.json is not valid JSON/);
    await warren('delete', 'vhost', 'exported');
    await warren('delete', 'user', 'erin');
  });

  test('failures: the API reason on stderr and exit 1', async () => {
    const missing = await runCli(['--url', url(), 'delete', 'queue', 'no-such-queue']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, '');
    assert.equal(missing.stderr, "warren: queue 'no-such-queue' in vhost '/': Not Found (HTTP 404)\n");

    const login = await runCli(['--url', url(), '--password', 'wrong', 'list', 'queues']);
    assert.equal(login.code, 1);
    assert.match(login.stderr, /^warren: Login failed \(HTTP 401\)\n$/);
    // The same through the environment and through credentials in the URL.
    const envLogin = await runCli(['list', 'queues'], { env: { WARREN_URL: url(), WARREN_PASSWORD: 'wrong' } });
    assert.equal(envLogin.code, 1);
    assert.match(envLogin.stderr, /Login failed/);
    const inUrl = await runCli(['--url', url().replace('http://', 'http://guest:guest@'), 'list', 'vhosts']);
    assert.equal(inUrl.code, 0, inUrl.stderr);

    const refused = await runCli(['declare', 'queue', 'q', '--durable'], { env: { WARREN_URL: url() } });
    assert.equal(refused.code, 0);
    const inequivalent = await runCli(['--url', url(), 'declare', 'queue', 'q']);
    assert.equal(inequivalent.code, 1);
    assert.match(inequivalent.stderr, /inequivalent arg 'durable'/);
    await warren('delete', 'queue', 'q');

    const noBinding = await runCli(['--url', url(), 'delete', 'binding', '--source', 'amq.direct', '--destination', 'nowhere']);
    assert.equal(noBinding.code, 1);
    assert.match(noBinding.stderr, /Not Found/);

    const badType = await runCli(['--url', url(), 'declare', 'exchange', 'e', '--type', 'nonsense']);
    assert.equal(badType.code, 1);
    assert.match(badType.stderr, /^warren: exchange 'e' in vhost '\/': .*nonsense.* \(HTTP 400\)\n$/);
  });

  test('a broker that is not there: exit 1 with a message naming the URL', async () => {
    const server = createServer();
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((res) => server.close(() => res()));
    const r = await runCli(['--url', `http://127.0.0.1:${port}`, 'list', 'queues']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `warren: cannot reach the management API at http://127.0.0.1:${port}: connection refused (is the broker running, and is this its --management-port?)\n`);
  });

  test('usage errors: exit 2 with the usage line', async () => {
    const unknown = await runCli(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);

    const kind = await runCli(['--url', url(), 'list', 'queuez']);
    assert.equal(kind.code, 2);
    assert.match(kind.stderr, /'list' takes one of: queues, exchanges, bindings/);

    const required = await runCli(['--url', url(), 'declare', 'exchange', 'x']);
    assert.equal(required.code, 2);
    assert.equal(required.stderr, 'warren: --type is required\nUsage: warren declare exchange NAME --type T [--vhost V] [--durable] [--auto-delete] [--internal] [--arguments JSON]\n');

    // Started together: each is a separate process, and none needs the broker.
    const cases: [string[], RegExp, Promise<Result>][] = [];
    for (const [args, message] of [
      [['declare', 'queue'], /NAME is missing/],
      [['declare', 'queue', 'a', 'b'], /unexpected argument 'b'/],
      [['list', 'queues', '--colour', 'red'], /unknown option --colour for 'warren list queues'/],
      [['list', 'users', '--vhost', '/'], /unknown option --vhost/],
      [['list', 'queues', '--vhost'], /--vhost needs a value/],
      [['declare', 'queue', 'a', '--arguments', '{nope'], /--arguments: not valid JSON/],
      [['get', '--queue', 'a', '--count', 'many'], /--count: 'many' is not a whole number/],
      [['get', '--queue', 'a', '--ackmode', 'maybe'], /--ackmode: 'maybe' is not one of/],
      [['list', 'queues', '--url', 'not a url'], /--url: 'not a url' is not a URL/],
    ] as [string[], RegExp][]) cases.push([args, message, runCli(args)]);
    for (const [args, message, run] of cases) {
      const r = await run;
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /\nUsage: warren /, `${args.join(' ')} prints its usage line`);
    }
  });

  test('help lists the admin commands; --help shows one command or group', async () => {
    const help = await runCli(['help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: warren start/);
    assert.match(help.stdout, /warren list queues\|exchanges\|bindings\|.*\[--vhost V\]/);
    assert.match(help.stdout, /warren set permissions --user U/);
    assert.match(help.stdout, /Exit status: 0 done, 1 the operation failed/);
    const one = await runCli(['purge', 'queue', '--help']);
    assert.equal(one.code, 0);
    assert.equal(one.stdout, 'Usage: warren purge queue NAME [--vhost V]\n  remove every ready message from a queue\n');
    const group = await runCli(['help', 'delete']);
    assert.equal(group.code, 0);
    assert.match(group.stdout, /warren delete queue NAME/);
    assert.match(group.stdout, /warren delete policy NAME/);
  });
});
