import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from './config.js';

test('flags in both --name value and --name=value forms', () => {
  const c = loadConfig(['--amqp-port', '5673', '--data-dir=/tmp/x', '--heartbeat', '0'], {});
  assert.deepEqual(c, { amqpPort: 5673, dataDir: '/tmp/x', heartbeat: 0 });
});

test('precedence: flag > environment > config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-config-'));
  try {
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ 'amqp-port': 1, 'management-port': 2, 'metrics-port': 3 }));
    const c = loadConfig(['--config', file, '--amqp-port', '10'], { WARREN_AMQP_PORT: '20', WARREN_MANAGEMENT_PORT: '30' });
    assert.equal(c.amqpPort, 10);
    assert.equal(c.managementPort, 30);
    assert.equal(c.metricsPort, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad values are refused with a message naming them', () => {
  const bad: [string[], NodeJS.ProcessEnv, RegExp][] = [
    [['--amqp-port', '70000'], {}, /--amqp-port: '70000' is not a valid port/],
    [['--amqp-port', '12x'], {}, /--amqp-port: '12x'/],
    [['--frame-max', '100'], {}, /--frame-max: '100' is not a valid frame size/],
    [['--log-level', 'loud'], {}, /--log-level: 'loud' is not a log level/],
    [['--data-dir'], {}, /--data-dir needs a value/],
    [['--bogus', '1'], {}, /unknown option --bogus/],
    [['stray'], {}, /unexpected argument 'stray'/],
    [[], { WARREN_CHANNEL_MAX: '0' }, /WARREN_CHANNEL_MAX: '0'/],
    [['--config', '/nonexistent/warren.json'], {}, /config file \/nonexistent\/warren.json/],
  ];
  for (const [argv, env, pattern] of bad) {
    assert.throws(() => loadConfig(argv, env), (err: Error) => err instanceof ConfigError && pattern.test(err.message), `${argv.join(' ')} ${JSON.stringify(env)}`);
  }
});

test('unknown keys in a config file are refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-config-'));
  try {
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ 'amqp-prot': 1 }));
    assert.throws(() => loadConfig(['--config', file], {}), /unknown setting 'amqp-prot'/);
    writeFileSync(file, '[1]');
    assert.throws(() => loadConfig(['--config', file], {}), /expected a JSON object/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('TLS settings: files as strings, choices with RabbitMQ spellings, a bare boolean flag', () => {
  const c = loadConfig(['--tls-cert', 'c.pem', '--tls-key=k.pem', '--tls-ca', 'ca.pem', '--amqps-port', '0', '--management-tls',
    '--tls-verify', 'fail_if_no_peer_cert', '--tls-cert-login-from', 'dn', '--tls-min-version', '1.3'], {});
  assert.deepEqual(c, { tlsCert: 'c.pem', tlsKey: 'k.pem', tlsCa: 'ca.pem', amqpsPort: 0, managementTls: true,
    tlsVerify: 'require', tlsCertLoginFrom: 'distinguished_name', tlsMinVersion: 'TLSv1.3' });
  assert.equal(loadConfig(['--management-tls', '--amqp-port', '1'], {}).managementTls, true);
  assert.equal(loadConfig(['--management-tls', 'false'], {}).managementTls, false);
  assert.equal(loadConfig([], { WARREN_TLS_VERIFY: 'verify_peer' }).tlsVerify, 'peer');
  assert.throws(() => loadConfig(['--tls-verify', 'always'], {}), /--tls-verify: 'always' is not one of none, peer, require/);
  assert.throws(() => loadConfig(['--tls-min-version', 'TLSv1.1'], {}), /--tls-min-version: 'TLSv1.1' is not one of TLSv1.2, TLSv1.3/);
  assert.throws(() => loadConfig(['--tls-cert-login-from', 'toString'], {}), /is not one of common_name, distinguished_name/);
});

test('--low-memory: a bare flag, a boolean value, or WARREN_LOW_MEMORY', () => {
  assert.equal(loadConfig(['--low-memory'], {}).lowMemory, true);
  assert.equal(loadConfig(['--low-memory', 'false', '--amqp-port', '1'], {}).lowMemory, false);
  assert.equal(loadConfig([], { WARREN_LOW_MEMORY: 'on' }).lowMemory, true);
  assert.equal(loadConfig([], {}).lowMemory, undefined);
});
