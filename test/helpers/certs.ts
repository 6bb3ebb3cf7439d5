import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate (PEM) with its key, and the files they are in. */
export interface CertPair {
  cert: Buffer;
  key: Buffer;
  certFile: string;
  keyFile: string;
}

/**
 * Certificates made for one test file with the openssl CLI: a CA, a server certificate for
 * localhost and 127.0.0.1, client certificates signed by that CA, and a second, untrusted CA's
 * client certificate. EC keys: generating them takes milliseconds.
 */
export interface TestPki {
  dir: string;
  ca: Buffer;
  caFile: string;
  server: CertPair;
  /** A client certificate with subject O=Warren tests, CN=`cn`, signed by the test CA. */
  client(cn: string): CertPair;
  /** A client certificate for CN=`cn` from a CA the broker does not trust. */
  untrustedClient(cn: string): CertPair;
  remove(): void;
}

/** Why TLS tests cannot run here, or undefined when they can. */
export function opensslMissing(): string | undefined {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  return r.error || r.status !== 0 ? 'the openssl command is not available: TLS tests need it to make certificates' : undefined;
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'warren-pki-'));
  const file = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const makeCa = (name: string, cn: string): void => openssl('req', '-x509', ...newKey, '-keyout', `${name}.key`, '-out', `${name}.pem`,
    '-days', '2', '-subj', `/O=Warren tests/CN=${cn}`, '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  let serial = 1;
  const issue = (name: string, subject: string, ca: string, ext?: string): CertPair => {
    openssl('req', ...newKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    const extArgs: string[] = [];
    if (ext) {
      writeFileSync(file(`${name}.ext`), `${ext}\n`);
      extArgs.push('-extfile', `${name}.ext`);
    }
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-set_serial', String(++serial),
      '-days', '2', '-out', `${name}.pem`, ...extArgs);
    return { cert: readFileSync(file(`${name}.pem`)), key: readFileSync(file(`${name}.key`)), certFile: file(`${name}.pem`), keyFile: file(`${name}.key`) };
  };
  makeCa('ca', 'Warren test CA');
  makeCa('rogue', 'Untrusted CA');
  const server = issue('server', '/O=Warren tests/CN=localhost', 'ca', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  let clients = 0;
  return {
    dir,
    ca: readFileSync(file('ca.pem')),
    caFile: file('ca.pem'),
    server,
    client: (cn) => issue(`client${++clients}`, `/O=Warren tests/CN=${cn}`, 'ca'),
    untrustedClient: (cn) => issue(`client${++clients}`, `/O=Warren tests/CN=${cn}`, 'rogue'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
