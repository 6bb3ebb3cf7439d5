import { resolve } from 'node:path';
import { Broker } from './core/broker.js';
import { createLogger } from './log.js';
import { AmqpServer } from './protocol/amqp/amqp-server.js';

const log = createLogger('warren');

export interface WarrenOptions {
  /** AMQP port; 0 picks a free one (tests). Default 5672. */
  amqpPort?: number;
  /** Interface to listen on; default all interfaces, like RabbitMQ. */
  host?: string;
  /** Management HTTP port (used by the operations front-end). Default 15672. */
  managementPort?: number;
  /** Prometheus metrics port. Default 15692. */
  metricsPort?: number;
  /** Where durable state lives. Default ./data. */
  dataDir?: string;
  /** Heartbeat proposed to clients, seconds (0 disables). Default 60, as RabbitMQ. */
  heartbeat?: number;
  /** Largest frame accepted and proposed, bytes. Default 131072, as RabbitMQ. */
  frameMax?: number;
  /** Most channels per connection. Default 2047, as RabbitMQ. */
  channelMax?: number;
}

export const DEFAULTS = {
  amqpPort: 5672,
  managementPort: 15672,
  metricsPort: 15692,
  dataDir: './data',
  heartbeat: 60,
  frameMax: 131072,
  channelMax: 2047,
} as const;

/**
 * A running Warren broker, embeddable in any Node program:
 *
 *   const warren = await Warren.start({ amqpPort: 0, dataDir: tmp });
 *   // amqp://guest:guest@localhost:${warren.amqpPort}
 *   await warren.stop();
 */
export class Warren {
  readonly broker: Broker;
  readonly amqpPort: number;
  readonly options: Required<Omit<WarrenOptions, 'host'>> & { host: string | undefined };
  readonly #amqp: AmqpServer;
  #stopping: Promise<void> | undefined;

  private constructor(broker: Broker, amqp: AmqpServer, amqpPort: number, options: Warren['options']) {
    this.broker = broker;
    this.#amqp = amqp;
    this.amqpPort = amqpPort;
    this.options = options;
  }

  static async start(opts: WarrenOptions = {}): Promise<Warren> {
    const options = {
      amqpPort: opts.amqpPort ?? DEFAULTS.amqpPort,
      host: opts.host,
      managementPort: opts.managementPort ?? DEFAULTS.managementPort,
      metricsPort: opts.metricsPort ?? DEFAULTS.metricsPort,
      dataDir: resolve(opts.dataDir ?? DEFAULTS.dataDir),
      heartbeat: opts.heartbeat ?? DEFAULTS.heartbeat,
      frameMax: opts.frameMax ?? DEFAULTS.frameMax,
      channelMax: opts.channelMax ?? DEFAULTS.channelMax,
    };
    const broker = new Broker({ dataDir: options.dataDir });
    const amqp = new AmqpServer(broker, {
      frameMax: options.frameMax, channelMax: options.channelMax, heartbeat: options.heartbeat, handshakeTimeout: 10_000,
    });
    const port = await amqp.listen(options.amqpPort, options.host);
    return new Warren(broker, amqp, port, options);
  }

  get connectionCount(): number {
    return this.#amqp.connections.size;
  }

  /** Closes every client connection with 320 CONNECTION_FORCED and stops listening. */
  stop(reason = 'shutdown'): Promise<void> {
    this.#stopping ??= this.#amqp.close(reason).then(() => this.broker.close()).then(() => log.debug('stopped'));
    return this.#stopping;
  }
}
