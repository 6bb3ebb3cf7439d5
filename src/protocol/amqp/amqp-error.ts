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
