import type { Queue } from '../core/queue/queue.js';
import type { BrokerStats, MessageStatsSnapshot } from '../core/stats/broker-stats.js';
import type { VirtualHost } from '../core/vhost.js';
import type { MessageStatsSource } from './api-context.js';

/**
 * `message_stats` for the management API, from the core's counters and rates (core/stats/). In
 * RabbitMQ's overview and vhost objects `publish` counts what publishers sent, while a queue's
 * counts what reached it: the core keeps both (`publish_in` and the sum over queues), so the
 * overview and vhosts show `publish_in` under RabbitMQ's name.
 */
export class CoreMessageStats implements MessageStatsSource {
  readonly #stats: BrokerStats;

  constructor(stats: BrokerStats) {
    this.#stats = stats;
  }

  overview(): Record<string, unknown> {
    return publisherView(this.#stats.overview({ samples: true }).message_stats);
  }

  queue(queue: Queue): Record<string, unknown> {
    return this.#stats.queue(queue, { samples: true });
  }

  vhost(vhost: VirtualHost): Record<string, unknown> | undefined {
    const s = this.#stats.vhost(vhost.name, { samples: true });
    return s && publisherView(s);
  }
}

function publisherView(s: MessageStatsSnapshot): Record<string, unknown> {
  return { ...s, publish: s['publish_in'], publish_details: s['publish_in_details'] };
}
