import { readFileSync } from 'node:fs';
import { hostname, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { Broker } from './core/broker.js';
import { ResourceAlarms } from './core/resource-alarms.js';
import { SAMPLER_DEFAULTS, StatsSampler } from './core/stats/sampler.js';
import { MetricsServer } from './metrics/metrics-server.js';
import { STORE_DEFAULTS } from './store/message-store.js';
import { createLogger } from './log.js';
import { CoreAccessDirectory } from './http/access-directory.js';
import { CoreMessageStats } from './http/message-stats.js';
import { ManagementServer } from './http/management-server.js';
import { AmqpServer } from './protocol/amqp/amqp-server.js';
import { AmqpConnectionRegistry } from './protocol/amqp/connection-info.js';
import type { CertLoginFrom, TlsMinVersion, TlsVerify } from './transport/tls.js';
import { defaultVerify, loadTlsSettings } from './transport/tls.js';

const log = createLogger('warren');

export interface WarrenOptions {
  /** AMQP port; 0 picks a free one (tests). Default 5672. */
  amqpPort?: number;
  /** Interface to listen on; default all interfaces, like RabbitMQ. */
  host?: string;
  /** Management HTTP API port; 0 picks a free one (tests). Default 15672. */
  managementPort?: number;
  /** Prometheus metrics port (GET /metrics); 0 picks a free one (tests). Default 15692. */
  metricsPort?: number;
  /** How often message rates are sampled, ms (RabbitMQ's collect_statistics_interval). Default 5000. */
  statsIntervalMs?: number;
  /** Where durable state lives. Default ./data. */
  dataDir?: string;
  /** Heartbeat proposed to clients, seconds (0 disables). Default 60, as RabbitMQ. */
  heartbeat?: number;
  /** Largest frame accepted and proposed, bytes. Default 131072, as RabbitMQ. */
  frameMax?: number;
  /** Most channels per connection. Default 2047, as RabbitMQ. */
  channelMax?: number;
  /** fsync before confirming persistent messages. Default true; false is unsafe on power loss. */
  fsync?: boolean;
  /** Block publishers above this memory use: a fraction (≤ 1) of RAM, or bytes. Default 0.4. */
  memoryHighWatermark?: number;
  /** Block publishers when the data directory's disk has fewer free bytes. Default 50 MB. */
  diskFreeLimit?: number;
  /** How often the alarms look at memory and disk, ms. Default 1000. */
  alarmIntervalMs?: number;
  /** Store tuning (embedding and tests): segment file size, and ready messages a queue keeps in memory. */
  segmentBytes?: number;
  queueMemoryMessages?: number;
  queueMemoryBytes?: number;
  /** Bytes of ready messages non-durable queues keep in memory, all together, before paging to disk. Default: half the memory watermark. */
  pagingThreshold?: number;
  /** A delivery unacked for longer closes its channel with 406, as RabbitMQ's consumer_timeout; ms, 0 = never. Default 30 minutes. */
  consumerTimeout?: number;
  /** PEM certificate (chain) file and its private key: with both, amqps listens on `amqpsPort`. */
  tlsCert?: string;
  tlsKey?: string;
  /** PEM CA bundle client certificates are verified against. */
  tlsCa?: string;
  /** amqps port; 0 picks a free one (tests). Default 5671. Only used with tlsCert and tlsKey. */
  amqpsPort?: number;
  /** Client certificates: 'none' (not asked for), 'peer' (checked when given), 'require' (must be given). Default 'peer' with tlsCa, else 'none'. */
  tlsVerify?: TlsVerify;
  /** Oldest TLS version accepted. Default TLSv1.2. */
  tlsMinVersion?: TlsMinVersion;
  /** SASL EXTERNAL's user name: the certificate's CN (default), or its whole subject DN as RabbitMQ's default. */
  tlsCertLoginFrom?: CertLoginFrom;
  /** Serve the management API over HTTPS with tlsCert/tlsKey. Default false. */
  managementTls?: boolean;
}

/** The options with their defaults applied; the TLS files stay optional. */
export type ResolvedOptions = Required<Omit<WarrenOptions, 'host' | 'tlsCert' | 'tlsKey' | 'tlsCa'>>
  & Pick<WarrenOptions, 'tlsCert' | 'tlsKey' | 'tlsCa'> & { host: string | undefined };

export const DEFAULTS = {
  amqpPort: 5672,
  managementPort: 15672,
  metricsPort: 15692,
  dataDir: './data',
  heartbeat: 60,
  frameMax: 131072,
  channelMax: 2047,
  fsync: true,
  memoryHighWatermark: 0.4,
  diskFreeLimit: 50_000_000,
  alarmIntervalMs: 1000,
  consumerTimeout: 1_800_000,
  statsIntervalMs: SAMPLER_DEFAULTS.intervalMs,
  amqpsPort: 5671,
  tlsMinVersion: 'TLSv1.2',
  tlsCertLoginFrom: 'common_name',
  managementTls: false,
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
  /** The port amqps is bound to; undefined when no TLS certificate is configured. */
  readonly amqpsPort: number | undefined;
  /** The port the management HTTP API listens on (the bound one when 0 was asked for). */
  readonly managementPort: number;
  /** The port the Prometheus endpoint is bound to (the chosen one when metricsPort was 0). */
  readonly metricsPort: number;
  /** Samples message counters for rates (`*_details.rate`); broker.stats reads them. */
  readonly sampler: StatsSampler;
  readonly options: ResolvedOptions;
  readonly #amqp: AmqpServer;
  readonly #management: ManagementServer;
  readonly #metrics: MetricsServer;
  #stopping: Promise<void> | undefined;

  private constructor(broker: Broker, servers: { amqp: AmqpServer; management: ManagementServer; metrics: MetricsServer },
    ports: { amqp: number; amqps: number | undefined; management: number; metrics: number }, sampler: StatsSampler, options: Warren['options']) {
    this.broker = broker;
    this.#amqp = servers.amqp;
    this.#management = servers.management;
    this.#metrics = servers.metrics;
    this.amqpPort = ports.amqp;
    this.amqpsPort = ports.amqps;
    this.managementPort = ports.management;
    this.metricsPort = ports.metrics;
    this.sampler = sampler;
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
      fsync: opts.fsync ?? DEFAULTS.fsync,
      memoryHighWatermark: opts.memoryHighWatermark ?? DEFAULTS.memoryHighWatermark,
      diskFreeLimit: opts.diskFreeLimit ?? DEFAULTS.diskFreeLimit,
      alarmIntervalMs: opts.alarmIntervalMs ?? DEFAULTS.alarmIntervalMs,
      segmentBytes: opts.segmentBytes ?? STORE_DEFAULTS.segmentBytes,
      queueMemoryMessages: opts.queueMemoryMessages ?? STORE_DEFAULTS.queueMemoryMessages,
      queueMemoryBytes: opts.queueMemoryBytes ?? STORE_DEFAULTS.queueMemoryBytes,
      pagingThreshold: 0,
      consumerTimeout: opts.consumerTimeout ?? DEFAULTS.consumerTimeout,
      statsIntervalMs: opts.statsIntervalMs ?? DEFAULTS.statsIntervalMs,
      tlsCert: opts.tlsCert,
      tlsKey: opts.tlsKey,
      tlsCa: opts.tlsCa,
      amqpsPort: opts.amqpsPort ?? DEFAULTS.amqpsPort,
      tlsVerify: opts.tlsVerify ?? defaultVerify(opts.tlsCa),
      tlsMinVersion: opts.tlsMinVersion ?? DEFAULTS.tlsMinVersion,
      tlsCertLoginFrom: opts.tlsCertLoginFrom ?? DEFAULTS.tlsCertLoginFrom,
      managementTls: opts.managementTls ?? DEFAULTS.managementTls,
    };
    // Before anything is created: a bad certificate stops start-up with nothing to undo.
    const tls = loadTlsSettings(opts);
    const watermark = options.memoryHighWatermark <= 1
      ? Math.floor(options.memoryHighWatermark * machineMemory()) : options.memoryHighWatermark;
    options.pagingThreshold = opts.pagingThreshold ?? Math.floor(watermark / 2);
    const broker = new Broker({
      dataDir: options.dataDir, fsync: options.fsync, segmentBytes: options.segmentBytes,
      queueMemoryMessages: options.queueMemoryMessages, queueMemoryBytes: options.queueMemoryBytes,
      pagingThreshold: options.pagingThreshold,
    });
    broker.alarms = new ResourceAlarms({
      memoryHighWatermark: watermark, diskFreeLimit: options.diskFreeLimit, dataDir: options.dataDir,
      intervalMs: options.alarmIntervalMs,
    });
    const amqp = new AmqpServer(broker, {
      frameMax: options.frameMax, channelMax: options.channelMax, heartbeat: options.heartbeat, handshakeTimeout: 10_000,
      consumerTimeout: options.consumerTimeout,
    }, tls);
    const ports: { amqp: number; amqps: number | undefined; management: number; metrics: number } = { amqp: 0, amqps: undefined, management: 0, metrics: 0 };
    const managementTls = tls !== undefined && options.managementTls;
    const management = new ManagementServer({
      broker,
      connections: new AmqpConnectionRegistry(amqp.connections),
      directory: new CoreAccessDirectory(broker),
      // RabbitMQ's protocol names for its listeners.
      listeners: () => [
        { protocol: 'amqp', port: ports.amqp, host: options.host },
        ...(ports.amqps === undefined ? [] : [{ protocol: 'amqp/ssl', port: ports.amqps, host: options.host }]),
        { protocol: managementTls ? 'https' : 'http', port: ports.management, host: options.host },
      ],
      node: nodeName(),
      startedAt: Date.now(),
      messageStats: new CoreMessageStats(broker.stats),
    }, managementTls ? tls : undefined);
    const metrics = new MetricsServer(broker);
    try {
      ports.amqp = await amqp.listen(options.amqpPort, options.host);
      if (tls) ports.amqps = await amqp.listenTls(options.amqpsPort, options.host);
      ports.management = await management.listen(options.managementPort, options.host);
      ports.metrics = await metrics.listen(options.metricsPort, options.host);
    } catch (err) {
      await Promise.all([management.close(), metrics.close()]);
      await amqp.close('start-up failed');
      await broker.close();
      throw err;
    }
    broker.alarms.start();
    const sampler = new StatsSampler(broker.stats, broker.vhosts, { intervalMs: options.statsIntervalMs });
    sampler.start();
    return new Warren(broker, { amqp, management, metrics }, ports, sampler, options);
  }

  get connectionCount(): number {
    return this.#amqp.connections.size;
  }

  /** Closes every client connection with 320 CONNECTION_FORCED and stops listening. */
  stop(reason = 'shutdown'): Promise<void> {
    this.broker.alarms?.stop();
    this.sampler.stop();
    this.#stopping ??= Promise.all([this.#management.close(), this.#metrics.close(), this.#amqp.close(reason)])
      .then(() => this.broker.close()).then(() => log.debug('stopped'));
    return this.#stopping;
  }
}

/** RabbitMQ-style node name, the one connection.start's cluster_name announces. */
function nodeName(): string {
  return `warren@${hostname()}`;
}

/** The machine's memory, or the container's limit when there is a lower one (cgroup v2 or v1). */
function machineMemory(): number {
  let total = totalmem();
  for (const path of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const limit = Number(readFileSync(path, 'utf8').trim());
      if (Number.isFinite(limit) && limit > 0 && limit < total) total = limit;
    } catch {
      // Not in a cgroup with a limit.
    }
  }
  return total;
}
