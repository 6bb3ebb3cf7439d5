import { hostname } from 'node:os';
import { Reader } from './codec/buffer-io.js';
import type { FieldTable } from './codec/field-table.js';
import { fieldString } from './codec/field-table.js';
import { AmqpError } from './amqp-error.js';
import { COMMAND_INVALID, SYNTAX_ERROR } from './reply-codes.js';

/** The protocol header of AMQP 0-9-1 (§4.2.2); we answer a mismatch with it and close. */
export const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);

export const SUPPORTED_MECHANISMS = 'PLAIN AMQPLAIN';
export const EXTERNAL = 'EXTERNAL';

/** connection.start's mechanisms: EXTERNAL only where a verified client certificate names the user, as RabbitMQ offers it. */
export function mechanisms(verifiedClientCertificate: boolean): string {
  return verifiedClientCertificate ? `${SUPPORTED_MECHANISMS} ${EXTERNAL}` : SUPPORTED_MECHANISMS;
}

export const VERSION = '0.1.0';

/**
 * connection.start's server-properties. Client libraries read `capabilities` to decide which
 * RabbitMQ extensions they may use, so we announce the same set RabbitMQ does, for what we support.
 */
export function serverProperties(): FieldTable {
  return {
    product: 'Warren',
    version: VERSION,
    platform: `Node.js ${process.version}`,
    copyright: 'The Warren authors',
    information: 'Warren message broker, AMQP 0-9-1 compatible with RabbitMQ clients',
    cluster_name: `warren@${hostname()}`,
    capabilities: {
      publisher_confirms: true,
      exchange_exchange_bindings: true,
      'basic.nack': true,
      consumer_cancel_notify: true,
      'connection.blocked': true,
      consumer_priorities: true,
      authentication_failure_close: true,
      per_consumer_qos: true,
      direct_reply_to: true,
    },
  };
}

export interface Credentials {
  mechanism: string;
  username: string;
  password: string;
}

/** Decodes connection.start-ok's SASL response for the mechanisms we offer. */
export function parseSaslResponse(mechanism: string, response: Buffer): Credentials {
  if (mechanism === 'PLAIN') {
    // RFC 4616: [authzid] NUL authcid NUL passwd
    const parts = response.toString('utf8').split('\u0000');
    if (parts.length !== 3) throw new AmqpError(SYNTAX_ERROR, 'malformed PLAIN response');
    return { mechanism, username: parts[1]!, password: parts[2]! };
  }
  if (mechanism === 'AMQPLAIN') {
    // A field table's contents without the leading length (RabbitMQ's AMQPLAIN).
    const framed = Buffer.allocUnsafe(4 + response.length);
    framed.writeUInt32BE(response.length, 0);
    response.copy(framed, 4);
    const table = new Reader(framed).table();
    const username = fieldString(table.LOGIN);
    const password = fieldString(table.PASSWORD);
    if (username === undefined || password === undefined) {
      throw new AmqpError(SYNTAX_ERROR, 'AMQPLAIN response lacks LOGIN or PASSWORD');
    }
    return { mechanism, username, password };
  }
  throw new AmqpError(COMMAND_INVALID, `unknown authentication mechanism '${mechanism}'`);
}

export function clientCapability(clientProperties: FieldTable, name: string): boolean {
  const caps = clientProperties.capabilities;
  if (!caps || typeof caps !== 'object' || Buffer.isBuffer(caps) || Array.isArray(caps) || caps instanceof Date) return false;
  return (caps as FieldTable)[name] === true;
}
