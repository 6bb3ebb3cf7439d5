import { BrokerError } from '../../core/broker-error.js';
import type { Exchange } from '../../core/exchange/exchange.js';
import { Message } from '../../core/message.js';
import { AmqpError } from './amqp-error.js';
import { decodeContentHeader } from './codec/content-header.js';
import type { BasicPublish } from './codec/methods.generated.js';
import { validateProperties } from './codec/properties.js';
import { FRAME_ERROR, PRECONDITION_FAILED, UNEXPECTED_FRAME } from './reply-codes.js';

/** RabbitMQ's default max_message_size (128 MiB); larger messages are refused with 406. */
export const MAX_MESSAGE_SIZE = 128 * 1024 * 1024;

/**
 * Assembles one published message from its frames (§4.2.6): basic.publish, one content header,
 * then body frames adding up to the announced size. Properties and body are copied into a single
 * allocation, so the socket's read buffers are never retained by queued messages.
 */
export class ContentAssembly {
  awaiting: 'method' | 'header' | 'body' = 'method';
  publish: BasicPublish | undefined;
  exchange: Exchange | undefined;
  #content: Buffer | undefined;
  #propsLength = 0;
  #received = 0;

  start(publish: BasicPublish, exchange: Exchange): void {
    this.publish = publish;
    this.exchange = exchange;
    this.awaiting = 'header';
  }

  /** The content header; true when the message is complete (empty body). */
  header(payload: Buffer): boolean {
    if (this.awaiting !== 'header') throw new AmqpError(UNEXPECTED_FRAME, 'content header frame without basic.publish');
    const h = decodeContentHeader(payload);
    if (h.classId !== 60) throw new AmqpError(FRAME_ERROR, `content header for class ${h.classId}, expected 60 (basic)`);
    if (h.bodySize > MAX_MESSAGE_SIZE) {
      this.awaiting = 'method';
      throw new BrokerError(PRECONDITION_FAILED, `message size ${h.bodySize} is larger than configured max size ${MAX_MESSAGE_SIZE}`);
    }
    const props = h.rawProperties;
    validateProperties(props);
    const content = Buffer.allocUnsafe(props.length + h.bodySize);
    props.copy(content, 0);
    this.#content = content;
    this.#propsLength = props.length;
    this.#received = 0;
    this.awaiting = 'body';
    return h.bodySize === 0;
  }

  /** One body frame; true when the body is complete. */
  body(payload: Buffer): boolean {
    if (this.awaiting !== 'body') throw new AmqpError(UNEXPECTED_FRAME, 'content body frame without a content header');
    const content = this.#content!;
    const at = this.#propsLength + this.#received;
    if (at + payload.length > content.length) {
      throw new AmqpError(FRAME_ERROR, `content body exceeds the ${content.length - this.#propsLength} bytes announced in its header`);
    }
    payload.copy(content, at);
    this.#received += payload.length;
    return at + payload.length === content.length;
  }

  /** The completed message; the assembly is ready for the next basic.publish. */
  take(): Message {
    const m = this.publish!;
    const content = this.#content!;
    const message = new Message(m.exchange, m.routingKey, content.subarray(0, this.#propsLength), content.subarray(this.#propsLength));
    this.awaiting = 'method';
    this.#content = undefined;
    return message;
  }
}
