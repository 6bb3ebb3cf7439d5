import type { Message } from './message.js';
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

/** BCC is removed before the message is stored or delivered, so no consumer learns of the other recipients. */
export function withoutBcc(message: Message): void {
  const props = { ...message.properties, headers: { ...message.properties.headers } };
  delete props.headers['BCC'];
  message.setProperties(encodeProperties(props), props);
}
