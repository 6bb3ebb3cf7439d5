import { isHardError, replyCodeName } from './reply-codes.js';

/**
 * An error raised by the core for a client's request, carrying the AMQP reply code that says what
 * kind of failure it is (404 NOT_FOUND, 405 RESOURCE_LOCKED, 406 PRECONDITION_FAILED, …).
 * Protocol front-ends translate it: AMQP into channel.close / connection.close, HTTP into a status.
 *
 * The message is formatted as RabbitMQ does, `NOT_FOUND - no queue 'q' in vhost '/'`, because
 * client libraries and people grep for that prefix; `text` is the part after the dash.
 */
export class BrokerError extends Error {
  readonly replyCode: number;
  readonly text: string;

  constructor(replyCode: number, text: string) {
    super(`${replyCodeName(replyCode)} - ${text}`);
    this.name = 'BrokerError';
    this.replyCode = replyCode;
    this.text = text;
  }

  /** True when this error must close the whole connection rather than one channel. */
  get isConnectionError(): boolean {
    return isHardError(this.replyCode);
  }
}
