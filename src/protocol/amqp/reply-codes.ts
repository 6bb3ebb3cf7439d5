// The reply codes live in the core (it raises them); the AMQP front-end uses the same numbers.
export * from '../../core/reply-codes.js';
