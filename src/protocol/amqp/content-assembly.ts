import { BrokerError } from '../../core/broker-error.js';
import type { Exchange } from '../../core/exchange/exchange.js';
import { Message } from '../../core/message.js';
import { AmqpError } from './amqp-error.js';
import { CONTENT_HEADER_PROPERTIES_AT, contentBodySize } from './codec/content-header.js';
import { validateProperties } from './codec/properties.js';
import { copyBytes } from './codec/copy-bytes.js';
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
  exchangeName = '';
  routingKey = '';
  mandatory = false;
  exchange: Exchange | undefined;
  #content: Buffer | undefined;
  #propsLength = 0;
  #received = 0;

  start(exchangeName: string, routingKey: string, mandatory: boolean, exchange: Exchange): void {
    this.exchangeName = exchangeName;
    this.routingKey = routingKey;
    this.mandatory = mandatory;
    this.exchange = exchange;
    this.awaiting = 'header';
  }

  /** The content header, `buf[start, end)`; true when the message is complete (empty body). */
  header(buf: Buffer, start: number, end: number): boolean {
    if (this.awaiting !== 'header') throw new AmqpError(UNEXPECTED_FRAME, 'content header frame without basic.publish');
    const bodySize = contentBodySize(buf, start, end);
    const classId = buf.readUInt16BE(start);
    if (classId !== 60) throw new AmqpError(FRAME_ERROR, `content header for class ${classId}, expected 60 (basic)`);
    if (bodySize > MAX_MESSAGE_SIZE) {
      this.awaiting = 'method';
      throw new BrokerError(PRECONDITION_FAILED, `message size ${bodySize} is larger than configured max size ${MAX_MESSAGE_SIZE}`);
    }
    const propsAt = start + CONTENT_HEADER_PROPERTIES_AT;
    try {
      validateProperties(buf, propsAt, end);
    } catch (err) {
      // Again on a view, so the error's offsets count from the property bytes, not the socket chunk.
      validateProperties(buf.subarray(propsAt, end));
      throw err;
    }
    const propsLength = end - propsAt;
    const content = Buffer.allocUnsafe(propsLength + bodySize);
    copyBytes(buf, propsAt, content, 0, propsLength);
    this.#content = content;
    this.#propsLength = propsLength;
    this.#received = 0;
    this.awaiting = 'body';
    return bodySize === 0;
  }

  /** One body frame, `buf[start, end)`; true when the body is complete. */
  body(buf: Buffer, start: number, end: number): boolean {
    if (this.awaiting !== 'body') throw new AmqpError(UNEXPECTED_FRAME, 'content body frame without a content header');
    const content = this.#content!;
    const at = this.#propsLength + this.#received;
    const n = end - start;
    if (at + n > content.length) {
      throw new AmqpError(FRAME_ERROR, `content body exceeds the ${content.length - this.#propsLength} bytes announced in its header`);
    }
    copyBytes(buf, start, content, at, n);
    this.#received += n;
    return at + n === content.length;
  }

  /** The completed message; the assembly is ready for the next basic.publish. */
  take(): Message {
    const content = this.#content!;
    const message = new Message(this.exchangeName, this.routingKey, content.subarray(0, this.#propsLength), content.subarray(this.#propsLength));
    this.awaiting = 'method';
    this.#content = undefined;
    return message;
  }
}
