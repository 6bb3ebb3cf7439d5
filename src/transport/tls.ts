import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TlsOptions, TLSSocket } from 'node:tls';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../config.js';
import { createLogger } from '../log.js';

const log = createLogger('tls');

/** RabbitMQ's verify_none / verify_peer / verify_peer + fail_if_no_peer_cert. */
export type TlsVerify = 'none' | 'peer' | 'require';
/** RabbitMQ's ssl_cert_login_from: which part of a client certificate is the user name for EXTERNAL. */
export type CertLoginFrom = 'common_name' | 'distinguished_name';
export type TlsMinVersion = 'TLSv1.2' | 'TLSv1.3';

/** The TLS settings as given (file paths); see WarrenOptions. */
export interface TlsOptionsInput {
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  tlsCa?: string | undefined;
  tlsVerify?: TlsVerify | undefined;
  tlsMinVersion?: TlsMinVersion | undefined;
  tlsCertLoginFrom?: CertLoginFrom | undefined;
  managementTls?: boolean | undefined;
}

/** Certificate, key and CA read and checked once at start-up, and how clients are verified. */
export interface TlsSettings {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
  readonly verify: TlsVerify;
  readonly minVersion: TlsMinVersion;
  readonly certLoginFrom: CertLoginFrom;
}

/**
 * The verify mode when none is given: checking client certificates when a CA bundle to check
 * them against was configured (a CA bundle has no other use on a server), none otherwise.
 */
export function defaultVerify(ca: string | undefined): TlsVerify {
  return ca ? 'peer' : 'none';
}

/**
 * Reads and checks the TLS files; undefined when neither certificate nor key is configured (no
 * TLS). Everything that would otherwise fail on the first client's handshake (an unreadable file,
 * a file that is not PEM, a key that does not belong to the certificate) stops start-up here with
 * a ConfigError naming the setting and the file.
 */
export function loadTlsSettings(o: TlsOptionsInput): TlsSettings | undefined {
  if (!o.tlsCert && !o.tlsKey) {
    if (o.tlsCa) throw new ConfigError('--tls-ca is set but --tls-cert and --tls-key are not: TLS needs a certificate and its key');
    if (o.managementTls) throw new ConfigError('--management-tls needs --tls-cert and --tls-key');
    if (o.tlsVerify && o.tlsVerify !== 'none') throw new ConfigError(`--tls-verify ${o.tlsVerify} needs --tls-cert, --tls-key and --tls-ca`);
    return undefined;
  }
  if (!o.tlsCert) throw new ConfigError(`--tls-key '${o.tlsKey}' is set but --tls-cert is not: TLS needs both`);
  if (!o.tlsKey) throw new ConfigError(`--tls-cert '${o.tlsCert}' is set but --tls-key is not: TLS needs both`);
  const cert = readSetting('--tls-cert', o.tlsCert);
  const key = readSetting('--tls-key', o.tlsKey);
  const ca = o.tlsCa ? readSetting('--tls-ca', o.tlsCa) : undefined;
  const verify = o.tlsVerify ?? defaultVerify(o.tlsCa);
  if (verify !== 'none' && !ca) {
    throw new ConfigError(`--tls-verify ${verify} needs --tls-ca, the CA bundle client certificates are checked against`);
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw new ConfigError(`--tls-cert '${o.tlsCert}': not a PEM certificate (${(err as Error).message})`);
  }
  try {
    createPrivateKey(key);
  } catch (err) {
    throw new ConfigError(`--tls-key '${o.tlsKey}': not a usable PEM private key (${(err as Error).message}); encrypted keys are not supported`);
  }
  if (ca) {
    try {
      createSecureContext({ ca });
    } catch (err) {
      throw new ConfigError(`--tls-ca '${o.tlsCa}': not a PEM CA bundle (${(err as Error).message})`);
    }
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new ConfigError(`--tls-cert '${o.tlsCert}' and --tls-key '${o.tlsKey}' do not go together (${(err as Error).message})`);
  }
  // An expired certificate is the operator's call (clients may pin it); say so rather than refuse.
  if (Date.parse(leaf.validTo) < Date.now()) log.warn('the TLS certificate has expired', { file: o.tlsCert, valid_to: leaf.validTo });
  return { cert, key, ca, verify, minVersion: o.tlsMinVersion ?? 'TLSv1.2', certLoginFrom: o.tlsCertLoginFrom ?? 'common_name' };
}

function readSetting(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(`${flag} '${path}': cannot read the file (${e.code ?? e.message})`);
  }
}

/**
 * Options for tls.createServer. 'peer' asks for a certificate without requiring one; Node then
 * hands us sockets with unverified certificates too, and the AMQP listener drops those itself
 * (acceptsPeer) — what OpenSSL's verify_peer without fail_if_no_peer_cert does in RabbitMQ.
 */
export function tlsServerOptions(s: TlsSettings, handshakeTimeoutMs: number): TlsOptions {
  return {
    cert: s.cert, key: s.key, ca: s.ca, minVersion: s.minVersion,
    requestCert: s.verify !== 'none', rejectUnauthorized: s.verify === 'require',
    handshakeTimeout: handshakeTimeoutMs,
  };
}

/** A client presenting a certificate that does not verify is refused, whatever the mode asks of clients without one. */
export function acceptsPeer(socket: TLSSocket, verify: TlsVerify): boolean {
  if (verify === 'none' || socket.authorized) return true;
  if (verify === 'peer' && socket.getPeerX509Certificate() === undefined) return true;
  log.warn('client certificate refused', { remote: socket.remoteAddress, reason: String(socket.authorizationError ?? 'no certificate') });
  return false;
}

/** What a connection knows about its TLS session (management API, SASL EXTERNAL). */
export interface TlsPeer {
  /** 'tlsv1.3', as RabbitMQ names protocols. */
  readonly protocol: string;
  readonly cipher: string;
  /** The client presented a certificate and it verified against --tls-ca: EXTERNAL is offered. */
  readonly verified: boolean;
  /** The certificate's subject and issuer as RFC 4514 strings (most specific part first), when there is one. */
  readonly subject: string | undefined;
  readonly issuer: string | undefined;
  /** The user name EXTERNAL logs in as; undefined when the certificate has none (no CN). */
  readonly login: string | undefined;
}

export function tlsPeer(socket: TLSSocket, from: CertLoginFrom): TlsPeer {
  const x509 = socket.getPeerX509Certificate();
  const subject = x509 ? rfc4514(x509.subject) : undefined;
  let login: string | undefined;
  if (x509 && socket.authorized) {
    // A certificate may carry several CNs; joined with ',' as RabbitMQ does rather than picking one.
    const cn = socket.getPeerCertificate().subject?.CN as string | string[] | undefined;
    login = from === 'distinguished_name' ? subject : Array.isArray(cn) ? cn.join(',') : cn;
  }
  return {
    protocol: (socket.getProtocol() ?? '').toLowerCase(),
    cipher: socket.getCipher()?.name ?? '',
    verified: x509 !== undefined && socket.authorized,
    subject,
    issuer: x509 ? rfc4514(x509.issuer) : undefined,
    login: login === '' ? undefined : login,
  };
}

/**
 * Node prints names one attribute a line in certificate order, values already escaped as RFC 2253
 * wants; RFC 4514 (and RabbitMQ's distinguished_name login) lists them the other way round.
 */
function rfc4514(multiline: string): string {
  return multiline.split('\n').filter((l) => l !== '').reverse().join(',');
}
