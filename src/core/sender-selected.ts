import type { FieldValue } from '../protocol/amqp/codec/field-table.js';
import { Message } from './message.js';
import { encodeProperties } from '../protocol/amqp/codec/properties.js';
import { stringList } from './queue/dead-letter.js';
import { typeName } from './queue/queue-arguments.js';
import { BrokerError } from './broker-error.js';
import { PRECONDITION_FAILED } from './reply-codes.js';

/**
 * RabbitMQ's sender-selected distribution: the `CC` and `BCC` headers (arrays of strings) name
 * extra routing keys the message is routed with, on the same exchange. Both are read only for
 * messages whose header bytes may contain them (Message.mayHaveCcOrBcc).
 */
export function ccAndBccKeys(message: Message): { keys: string[]; hasBcc: boolean } {
  const headers = message.headers;
  if (!headers) return { keys: [], hasBcc: false };
  for (const name of ['CC', 'BCC']) {
    const v = headers[name];
    if (v !== undefined && !Array.isArray(v)) {
      throw new BrokerError(PRECONDITION_FAILED, `invalid message: {unacceptable_type_in_header,"${name}",${typeName(v)}}`);
    }
  }
  const keys = [...stringList(headers['CC']), ...stringList(headers['BCC'])];
  return { keys, hasBcc: headers['BCC'] !== undefined };
}

/** The BCC headers removed from messages, for the one place that must route them later (a delayed exchange). */
const removedBcc = new WeakMap<Message, FieldValue>();

/** BCC is removed before the message is stored or delivered, so no consumer learns of the other recipients. */
export function withoutBcc(message: Message): void {
  const props = { ...message.properties, headers: { ...message.properties.headers } };
  removedBcc.set(message, props.headers['BCC']!);
  delete props.headers['BCC'];
  message.setProperties(encodeProperties(props), props);
}

/**
 * The message as published, BCC included: a delayed exchange parks this copy, so that its BCC
 * keys still route when it is due (and are removed then). The message itself when it had no BCC.
 */
export function withBccRestored(message: Message): Message {
  const bcc = removedBcc.get(message);
  if (bcc === undefined) return message;
  const props = { ...message.properties, headers: { ...message.properties.headers, BCC: bcc } };
  return new Message(message.exchange, message.routingKey, encodeProperties(props), message.body, message.timestamp);
}
