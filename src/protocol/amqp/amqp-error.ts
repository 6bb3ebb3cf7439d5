import { BrokerError } from '../../core/broker-error.js';

/**
 * A BrokerError raised inside the AMQP front-end (codec, frame reader, connection state machine),
 * optionally naming the class/method id of the method that failed; 0/0 when no method was involved
 * (a bad frame). The connection fills in the current method when the error carries none.
 */
export class AmqpError extends BrokerError {
  readonly classId: number;
  readonly methodId: number;

  constructor(replyCode: number, text: string, classId = 0, methodId = 0) {
    super(replyCode, text);
    this.name = 'AmqpError';
    this.classId = classId;
    this.methodId = methodId;
  }
}

/**
 * reply-text is a shortstr (at most 255 bytes) but often quotes names the client chose; cut it
 * to fit, as RabbitMQ does, so a long name can never make the error itself fail to encode.
 */
export function fitReplyText(text: string): string {
  if (Buffer.byteLength(text) <= 255) return text;
  let cut = Buffer.from(text).subarray(0, 252).toString('utf8');
  // a multi-byte character cut in half decodes as U+FFFD (3 bytes): drop it
  while (Buffer.byteLength(cut) > 252 || cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return `${cut}...`;
}
