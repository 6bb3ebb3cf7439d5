import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { request } from 'node:https';
import { connect as connectTcp } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import amqp from 'amqplib';
import { ConfigError, Warren } from '../src/index.js';
import { AmqpServer } from '../src/protocol/amqp/amqp-server.js';
import * as M from '../src/protocol/amqp/codec/methods.generated.js';
import { loadTlsSettings } from '../src/transport/tls.js';
import type { TestBroker } from './helpers/broker.js';
import { startTestBroker } from './helpers/broker.js';
import type { CertPair, TestPki } from './helpers/certs.js';
import { makeTestPki, opensslMissing } from './helpers/certs.js';
import { RawClient } from './helpers/raw-client.js';

const skip = opensslMissing();
const ALL = { configure: '.*', write: '.*', read: '.*' };
/** What a client sees when the broker refuses its TLS handshake or certificate. */
const TLS_REFUSED = /certificate required|Socket closed|ECONNRESET/;
const REFUSED_EXTERNAL = /403.*ACCESS_REFUSED - Login was refused using authentication mechanism EXTERNAL/;

/** GET over HTTPS trusting only the test CA; resolves with status and parsed JSON. */
function httpsGet(port: number, path: string, ca: Buffer): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, auth: 'guest:guest', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text === '' ? undefined : JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** connection.start's mechanisms as a raw client sees them. */
async function offeredMechanisms(c: RawClient): Promise<string> {
  c.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
  const start = await c.nextMethod(M.CONNECTION_START) as M.ConnectionStart;
  c.destroy();
  return start.mechanisms.toString();
}

describe('TLS: amqps, SASL EXTERNAL, HTTPS management', { skip }, () => {
  let pki: TestPki;
  let b: TestBroker;
  let someUser: CertPair;
  let nobody: CertPair;
  let amqpsUrl: string;
  before(async () => {
    pki = makeTestPki();
    someUser = pki.client('some user');
    nobody = pki.client('nobody');
    // --tls-ca without --tls-verify: client certificates are checked when given (peer).
    b = await startTestBroker({ tlsCert: pki.server.certFile, tlsKey: pki.server.keyFile, tlsCa: pki.caFile, managementTls: true });
    b.warren.broker.putUser('some user', {}); // no password: only EXTERNAL can log it in
    b.warren.broker.setPermissions('some user', '/', ALL);
    amqpsUrl = `amqps://guest:guest@127.0.0.1:${b.warren.amqpsPort}`;
  });
  after(async () => {
    await b?.stop();
    pki?.remove();
  });

  test('both listeners: amqps on its own port next to plain AMQP', () => {
    assert.equal(typeof b.warren.amqpsPort, 'number');
    assert.notEqual(b.warren.amqpsPort, b.warren.amqpPort);
    assert.equal(b.warren.options.tlsVerify, 'peer');
  });

  test('amqplib over amqps with PLAIN: publish and consume, and the API shows the TLS session', async () => {
    const conn = await amqp.connect(amqpsUrl, { ca: [pki.ca] });
    const ch = await conn.createChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.from('over tls'));
    const got = await new Promise<string>((resolve) => {
      void ch.consume(queue, (m) => m && resolve(m.content.toString()), { noAck: true });
    });
    assert.equal(got, 'over tls');
    const conns = await httpsGet(b.warren.managementPort, '/api/connections', pki.ca);
    const mine = conns.body.find((c: any) => c.port === b.warren.amqpsPort);
    assert.equal(mine.ssl, true);
    assert.match(mine.ssl_protocol, /^tlsv1\.[23]$/);
    assert.equal(mine.peer_cert_subject, null);
    assert.equal(mine.auth_mechanism, 'PLAIN');
    await conn.close();
  });

  test('large messages over TLS: corked batches and backpressure deliver every byte', async () => {
    const conn = await amqp.connect(amqpsUrl, { ca: [pki.ca] });
    const ch = await conn.createConfirmChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    const body = Buffer.alloc(200_000, 7);
    for (let i = 0; i < 100; i++) ch.sendToQueue(queue, body);
    await ch.waitForConfirms();
    await ch.prefetch(10);
    let bytes = 0;
    await new Promise<void>((resolve) => {
      let n = 0;
      void ch.consume(queue, (m) => {
        if (!m) return;
        bytes += m.content.length;
        ch.ack(m);
        if (++n === 100) resolve();
      });
    });
    assert.equal(bytes, 100 * body.length);
    await conn.close();
  });

  test('a verified client certificate + EXTERNAL logs in as the certificate CN', async () => {
    const conn = await amqp.connect(`amqps://127.0.0.1:${b.warren.amqpsPort}`,
      { ca: [pki.ca], cert: someUser.cert, key: someUser.key, credentials: amqp.credentials.external() });
    const ch = await conn.createChannel();
    await ch.assertQueue('tls-external', { durable: false, autoDelete: true });
    const conns = await httpsGet(b.warren.managementPort, '/api/connections', pki.ca);
    const mine = conns.body.find((c: any) => c.user === 'some user');
    assert.equal(mine.auth_mechanism, 'EXTERNAL');
    assert.equal(mine.peer_cert_subject, 'CN=some user,O=Warren tests');
    assert.equal(mine.peer_cert_issuer, 'CN=Warren test CA,O=Warren tests');
    await conn.close();
  });

  test('EXTERNAL is offered only with a verified client certificate', async () => {
    assert.equal(await offeredMechanisms(await RawClient.connectTls(b.warren.amqpsPort!, { ca: pki.ca, cert: someUser.cert, key: someUser.key })),
      'PLAIN AMQPLAIN EXTERNAL');
    assert.equal(await offeredMechanisms(await RawClient.connectTls(b.warren.amqpsPort!, { ca: pki.ca })), 'PLAIN AMQPLAIN');
    assert.equal(await offeredMechanisms(await RawClient.connect(b.port)), 'PLAIN AMQPLAIN');
  });

  test('PLAIN still works over TLS when the client presents a certificate', async () => {
    const conn = await amqp.connect(amqpsUrl, { ca: [pki.ca], cert: someUser.cert, key: someUser.key });
    await conn.close();
  });

  test('a certificate naming an unknown user is refused with 403', async () => {
    await assert.rejects(amqp.connect(`amqps://127.0.0.1:${b.warren.amqpsPort}`,
      { ca: [pki.ca], cert: nobody.cert, key: nobody.key, credentials: amqp.credentials.external() }), REFUSED_EXTERNAL);
  });

  test('EXTERNAL without a certificate, or on plain TCP, is not offered and refused if asked for', async () => {
    await assert.rejects(amqp.connect(`amqp://127.0.0.1:${b.port}`, { credentials: amqp.credentials.external() }),
      /SASL mechanism EXTERNAL is not provided by the server/);
    // A client that asks anyway gets RabbitMQ's answer to a mechanism it was not offered.
    const c = await RawClient.connectTls(b.warren.amqpsPort!, { ca: pki.ca });
    c.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
    await c.nextMethod(M.CONNECTION_START);
    c.send(0, { id: M.CONNECTION_START_OK, clientProperties: {}, mechanism: 'EXTERNAL', response: '', locale: 'en_US' });
    const close = await c.nextMethod(M.CONNECTION_CLOSE) as M.ConnectionClose;
    assert.equal(close.replyCode, 503);
    assert.match(close.replyText, /invalid authentication mechanism 'EXTERNAL'/);
    c.destroy();
  });

  test('verify peer: a certificate from an untrusted CA is refused', async () => {
    const rogue = pki.untrustedClient('some user');
    await assert.rejects(amqp.connect(`amqps://127.0.0.1:${b.warren.amqpsPort}`,
      { ca: [pki.ca], cert: rogue.cert, key: rogue.key, credentials: amqp.credentials.external() }), TLS_REFUSED);
  });

  test('the management API over HTTPS: /api/overview lists both AMQP listeners', async () => {
    const r = await httpsGet(b.warren.managementPort, '/api/overview', pki.ca);
    assert.equal(r.status, 200);
    const listeners = r.body.listeners.map((l: any) => `${l.protocol}:${l.port}`);
    assert.ok(listeners.includes(`amqp:${b.warren.amqpPort}`));
    assert.ok(listeners.includes(`amqp/ssl:${b.warren.amqpsPort}`));
    assert.ok(listeners.includes(`https:${b.warren.managementPort}`));
    // Plain HTTP is not served on that port any more.
    await assert.rejects(fetch(`http://127.0.0.1:${b.warren.managementPort}/api/overview`));
  });

  test('a client that never starts the TLS handshake is dropped after the handshake timeout', async () => {
    // A second listener on the same broker, with a short timeout (Warren's is 10 s).
    const server = new AmqpServer(b.warren.broker, { frameMax: 131072, channelMax: 10, heartbeat: 0, handshakeTimeout: 200, consumerTimeout: 0 },
      loadTlsSettings({ tlsCert: pki.server.certFile, tlsKey: pki.server.keyFile }));
    const port = await server.listenTls(0, '127.0.0.1');
    const silent = connectTcp({ port, host: '127.0.0.1' });
    silent.on('error', () => {});
    const dropped = await Promise.race([
      new Promise<boolean>((r) => silent.once('close', () => r(true))),
      new Promise<boolean>((r) => setTimeout(() => r(false), 2000)),
    ]);
    silent.destroy();
    await server.close('test');
    assert.ok(dropped, 'the silent client was still connected after 2 s');
  });

  test('shutdown does not wait for a client stuck in the TLS handshake', { timeout: 10_000 }, async () => {
    const tb = await startTestBroker({ tlsCert: pki.server.certFile, tlsKey: pki.server.keyFile });
    const stuck = connectTcp({ port: tb.warren.amqpsPort!, host: '127.0.0.1' });
    stuck.on('error', () => {});
    await new Promise((r) => stuck.once('connect', r));
    const t0 = Date.now();
    await tb.stop();
    assert.ok(Date.now() - t0 < 3000, `stop took ${Date.now() - t0} ms`);
    stuck.destroy();
  });
});

describe('TLS: verify require, login from the distinguished name', { skip }, () => {
  let pki: TestPki;
  let b: TestBroker;
  before(async () => {
    pki = makeTestPki();
    b = await startTestBroker({ tlsCert: pki.server.certFile, tlsKey: pki.server.keyFile, tlsCa: pki.caFile,
      tlsVerify: 'require', tlsCertLoginFrom: 'distinguished_name' });
    b.warren.broker.putUser('CN=app,O=Warren tests', {});
    b.warren.broker.setPermissions('CN=app,O=Warren tests', '/', ALL);
  });
  after(async () => {
    await b?.stop();
    pki?.remove();
  });

  test('a client without a certificate is refused; plain TCP is unaffected', async () => {
    await assert.rejects(amqp.connect(`amqps://guest:guest@127.0.0.1:${b.warren.amqpsPort}`, { ca: [pki.ca] }), TLS_REFUSED);
    const conn = await amqp.connect(b.url);
    await conn.close();
  });

  test('EXTERNAL logs in as the subject DN (RFC 4514, most specific first)', async () => {
    const app = pki.client('app');
    const conn = await amqp.connect(`amqps://127.0.0.1:${b.warren.amqpsPort}`,
      { ca: [pki.ca], cert: app.cert, key: app.key, credentials: amqp.credentials.external() });
    await conn.close();
    // In this mode a user named by the CN alone does not match.
    b.warren.broker.putUser('solo', {});
    b.warren.broker.setPermissions('solo', '/', ALL);
    const solo = pki.client('solo');
    await assert.rejects(amqp.connect(`amqps://127.0.0.1:${b.warren.amqpsPort}`,
      { ca: [pki.ca], cert: solo.cert, key: solo.key, credentials: amqp.credentials.external() }), REFUSED_EXTERNAL);
  });
});

describe('TLS settings are checked at start-up', { skip }, () => {
  let pki: TestPki;
  before(() => {
    pki = makeTestPki();
  });
  after(() => pki?.remove());

  // TLS is checked before anything is created: no data directory appears, no port is bound.
  const refuses = async (opts: Parameters<typeof Warren.start>[0], pattern: RegExp): Promise<void> => {
    const dataDir = join(pki.dir, 'data');
    await assert.rejects(Warren.start({ amqpPort: 0, amqpsPort: 0, managementPort: 0, metricsPort: 0, ...opts, dataDir }),
      (err: Error) => err instanceof ConfigError && pattern.test(err.message));
    assert.equal(existsSync(dataDir), false);
  };

  test('a missing certificate file is named', async () => {
    await refuses({ tlsCert: '/nonexistent/server.pem', tlsKey: pki.server.keyFile }, /--tls-cert '\/nonexistent\/server.pem': cannot read the file \(ENOENT\)/);
    await refuses({ tlsCert: pki.server.certFile, tlsKey: pki.server.keyFile, tlsCa: '/nonexistent/ca.pem' }, /--tls-ca '\/nonexistent\/ca.pem'/);
  });

  test('half a configuration is refused', async () => {
    await refuses({ tlsKey: pki.server.keyFile }, /--tls-key .* is set but --tls-cert is not/);
    await refuses({ tlsCert: pki.server.certFile }, /--tls-cert .* is set but --tls-key is not/);
    await refuses({ managementTls: true }, /--management-tls needs --tls-cert and --tls-key/);
    await refuses({ tlsCert: pki.server.certFile, tlsKey: pki.server.keyFile, tlsVerify: 'require' }, /--tls-verify require needs --tls-ca/);
  });

  test('files that are not what they should be', async () => {
    await refuses({ tlsCert: pki.server.keyFile, tlsKey: pki.server.keyFile }, /--tls-cert .*: not a PEM certificate/);
    await refuses({ tlsCert: pki.server.certFile, tlsKey: pki.server.certFile }, /--tls-key .*: not a usable PEM private key/);
    const other = pki.client('someone');
    await refuses({ tlsCert: pki.server.certFile, tlsKey: other.keyFile }, /--tls-cert .* and --tls-key .* do not go together/);
  });
});
