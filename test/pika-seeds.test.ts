/**
 * The seed articles' pika programs (RabbitMQ tutorials 1-6 plus confirms), run as real
 * Python processes against an in-process Warren. Needs Debian's python3-pika at /usr/bin/python3.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startTestBroker, type TestBroker } from './helpers/broker.js';
import { killAllPython, pikaMissing, runPython, startPython, type PythonProcess, type PythonResult } from './helpers/python.js';

// dist/test/pika-seeds.test.js -> <repo>/test/pika/
const PIKA_DIR = fileURLToPath(new URL('../../test/pika/', import.meta.url));
const script = (name: string) => PIKA_DIR + name;

const missing = pikaMissing();
const skip = missing ?? false;

let b: TestBroker | undefined;
const env = () => ({ AMQP_PORT: String(b!.port) });

before(async () => {
  if (missing) return;
  b = await startTestBroker();
});

after(async () => {
  killAllPython();
  await b?.stop();
});

function explain(name: string, r: PythonResult): string {
  return `${name} exited ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

async function run(name: string, args: string[] = [], extraEnv: Record<string, string> = {}): Promise<PythonResult> {
  const r = await runPython(script(name), { ...env(), ...extraEnv }, 20_000, args);
  assert.equal(r.code, 0, explain(name, r));
  return r;
}

async function finish(name: string, p: PythonProcess): Promise<PythonResult> {
  const r = await p.done(20_000);
  assert.equal(r.code, 0, explain(name, r));
  return r;
}

const lines = (s: string) => s.split('\n').filter((l) => l !== '');
/** Subscriber output lines that are deliveries ("<routing key>|<body>"), sorted. */
const deliveries = (r: PythonResult) => lines(r.stdout).filter((l) => l.includes('|')).sort();

test('pika: hello world (send.py, receive.py)', { skip }, async () => {
  const sent = await run('send.py');
  assert.match(sent.stdout, /\[x\] Sent 'Hello World!'/);
  const got = await run('receive.py');
  const received = lines(got.stdout).filter((l) => l.includes('Received'));
  assert.deepEqual(received, [' [x] Received Hello World!']);
});

test('pika: work queue with two fair-dispatch workers (new_task.py, worker.py)', { skip }, async () => {
  const w1 = startPython(script('worker.py'), env());
  const w2 = startPython(script('worker.py'), env());
  await Promise.all([w1.waitForLine('READY'), w2.waitForLine('READY')]);

  const tasks = Array.from({ length: 10 }, (_, i) => `task ${i} ${'.'.repeat((i % 3) + 1)}`);
  await run('new_task.py', tasks);

  const [r1, r2] = await Promise.all([finish('worker.py #1', w1), finish('worker.py #2', w2)]);
  const done = (r: PythonResult) => lines(r.stdout).filter((l) => l.startsWith(' [x] Done ')).map((l) => l.slice(' [x] Done '.length));
  const d1 = done(r1);
  const d2 = done(r2);
  assert.deepEqual([...d1, ...d2].sort(), [...tasks].sort(), `every task processed exactly once: #1 ${JSON.stringify(d1)} #2 ${JSON.stringify(d2)}`);
  assert.ok(d1.length > 0 && d2.length > 0, `both workers got work: #1 ${d1.length}, #2 ${d2.length}`);
  // prefetch 1 + acks after work: neither worker hogs the queue
  assert.ok(Math.abs(d1.length - d2.length) <= 4, `fair dispatch: #1 ${d1.length}, #2 ${d2.length}`);
});

test('pika: persistent message to a durable queue (persistent.py)', { skip }, async () => {
  const r = await run('persistent.py');
  const out = lines(r.stdout);
  assert.ok(out.includes('body=persistent hello'), r.stdout);
  assert.ok(out.includes('delivery_mode=2'), r.stdout);
  assert.ok(out.includes('redelivered=False'), r.stdout);
  assert.ok(out.includes('after_ack_empty=True'), r.stdout);
});

test('pika: RPC with an exclusive server-named reply queue (rpc_server.py, rpc_client.py)', { skip }, async () => {
  const server = startPython(script('rpc_server.py'), env());
  await server.waitForLine('READY');
  const client = await run('rpc_client.py');
  const s = await finish('rpc_server.py', server);
  const out = lines(client.stdout);
  assert.ok(out.includes(' [.] Got 55'), client.stdout);
  assert.ok(out.includes('correlation_id matched=True mismatched=0'), client.stdout);
  const queue = out.find((l) => l.startsWith(' [x] callback queue '))?.slice(' [x] callback queue '.length);
  assert.ok(queue, client.stdout);
  assert.ok(lines(s.stdout).includes(` [.] reply_to=${queue}`), `server saw reply_to ${queue}:\n${s.stdout}`);
  assert.ok(lines(s.stdout).includes(' [.] fib(10)'), s.stdout);
});

test('pika: RPC with direct reply-to (rpc_server.py, rpc_client_direct.py)', { skip }, async () => {
  const server = startPython(script('rpc_server.py'), env());
  await server.waitForLine('READY');
  const client = await run('rpc_client_direct.py');
  const s = await finish('rpc_server.py', server);
  const out = lines(client.stdout);
  assert.ok(out.includes(' [.] Got 55'), client.stdout);
  assert.ok(out.includes('correlation_id matched=True'), client.stdout);
  // the broker rewrote reply_to to amq.rabbitmq.reply-to.<token>
  assert.match(s.stdout, /^ \[\.\] reply_to=amq\.rabbitmq\.reply-to\.\S+$/m);
});

test('pika: publish/subscribe over fanout (emit_log.py, receive_logs.py x2)', { skip }, async () => {
  const messages = ['info: Hello World!', 'warning: second'];
  const subs = [0, 1].map(() => startPython(script('receive_logs.py'), { ...env(), EXPECT: String(messages.length) }));
  await Promise.all(subs.map((s) => s.waitForLine('READY')));
  await run('emit_log.py', messages);
  for (const [i, s] of subs.entries()) {
    const r = await finish(`receive_logs.py #${i + 1}`, s);
    assert.deepEqual(lines(r.stdout).filter((l) => l.startsWith(' [x] ')), messages.map((m) => ` [x] ${m}`));
  }
});

test('pika: routing over direct (emit_log_direct.py, receive_logs_direct.py)', { skip }, async () => {
  const errorsOnly = startPython(script('receive_logs_direct.py'), { ...env(), EXPECT: '2' }, ['error']);
  const all = startPython(script('receive_logs_direct.py'), { ...env(), EXPECT: '4' }, ['info', 'warning', 'error']);
  await Promise.all([errorsOnly.waitForLine('READY'), all.waitForLine('READY')]);
  await run('emit_log_direct.py', ['info', 'error', 'warning', 'debug', 'error']);
  const e = await finish('receive_logs_direct.py error', errorsOnly);
  const a = await finish('receive_logs_direct.py info warning error', all);
  assert.deepEqual(deliveries(e), ['error|error: Hello World!', 'error|error: Hello World!']);
  assert.deepEqual(deliveries(a), [
    'error|error: Hello World!',
    'error|error: Hello World!',
    'info|info: Hello World!',
    'warning|warning: Hello World!',
  ]);
});

test('pika: topic routing (emit_log_topic.py, receive_logs_topic.py)', { skip }, async () => {
  const keys = ['kern.critical', 'anonymous.info', 'kern.info', 'cron.critical', 'kern', 'a.b.critical'];
  const expected: Record<string, string[]> = {
    '*.critical': ['kern.critical', 'cron.critical'],
    'kern.*': ['kern.critical', 'kern.info'],
    '#': keys,
    // two bindings matching one message: delivered once to the queue
    'kern.* *.critical': ['kern.critical', 'kern.info', 'cron.critical'],
  };
  const subs = Object.entries(expected).map(([bindings, want]) => ({
    bindings,
    want,
    p: startPython(script('receive_logs_topic.py'), { ...env(), EXPECT: String(want.length) }, bindings.split(' ')),
  }));
  await Promise.all(subs.map((s) => s.p.waitForLine('READY')));
  await run('emit_log_topic.py', keys);
  for (const s of subs) {
    const r = await finish(`receive_logs_topic.py ${s.bindings}`, s.p);
    assert.deepEqual(deliveries(r), s.want.map((k) => `${k}|${k}: Hello World!`).sort(), `bindings ${s.bindings}`);
  }
});

test('pika: publisher confirms, mandatory unroutable raises UnroutableError (confirm.py)', { skip }, async () => {
  const r = await run('confirm.py');
  const out = lines(r.stdout);
  assert.ok(out.includes('unroutable: UnroutableError'), r.stdout);
  assert.ok(out.includes('returned: 312 no-such-queue-anywhere lost'), r.stdout);
  assert.ok(out.includes('routable: confirmed'), r.stdout);
  assert.ok(out.includes('got: kept'), r.stdout);
  assert.ok(out.includes('channel open: True'), r.stdout);
});

