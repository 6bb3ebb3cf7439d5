import { isHardError, replyCodeName } from './reply-codes.js';

/**
 * An error that the AMQP front-end reports to the peer: a channel.close (soft error) or a
 * connection.close (hard error) carrying `replyCode`, the reply text, and the class/method id of
 * the method that failed (0/0 when no method was involved, e.g. a bad frame).
 *
 * The reply text is formatted the way RabbitMQ does it: `NOT_FOUND - no queue 'q' in vhost '/'`,
 * because client libraries and people grep for that prefix.
 */
export class AmqpError extends Error {
  readonly replyCode: number;
  readonly classId: number;
  readonly methodId: number;

  constructor(replyCode: number, text: string, classId = 0, methodId = 0) {
    super(`${replyCodeName(replyCode)} - ${text}`);
    this.name = 'AmqpError';
    this.replyCode = replyCode;
    this.classId = classId;
    this.methodId = methodId;
  }

  /** True when this error must close the connection rather than just the channel. */
  get isConnectionError(): boolean {
    return isHardError(this.replyCode);
  }

  /** The same error attributed to the method (id = classId << 16 | methodId) that caused it. */
  withMethod(methodFullId: number): AmqpError {
    if (this.classId !== 0 || this.methodId !== 0) return this;
    return new AmqpError(this.replyCode, this.message.slice(this.message.indexOf(' - ') + 3),
      methodFullId >>> 16, methodFullId & 0xffff);
  }
}
