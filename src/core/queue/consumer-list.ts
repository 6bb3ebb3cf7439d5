import type { Consumer } from './consumer.js';

/**
 * Who gets a queue's next message. Consumers are kept sorted by priority (x-priority, highest
 * first; equal priorities in arrival order): deliveries go round-robin among the highest-priority
 * consumers that can accept, and to lower ones only while those are full (RabbitMQ's consumer
 * priorities). With single active consumer, only the first consumer to arrive receives; when it
 * goes, the one with the highest priority (the earliest among equals) takes over, as in RabbitMQ 3.x.
 */
export class ConsumerList {
  /** Sorted by priority, then arrival. */
  all: Consumer[] = [];
  singleActive = false;
  /** Single active consumer: the one receiving (the first to arrive; then RabbitMQ's pick, see remove). */
  #active: Consumer | undefined;
  #next = 0;
  #mixedPriorities = false;

  add(consumer: Consumer): void {
    const all = this.all;
    let i = all.length;
    while (i > 0 && all[i - 1]!.priority < consumer.priority) i--;
    all.splice(i, 0, consumer);
    if (this.#next > i) this.#next++;
    this.#active ??= consumer;
    this.#mixedPriorities = all[0]!.priority !== all[all.length - 1]!.priority;
  }

  /** Returns false when the consumer was not in the list. */
  remove(consumer: Consumer): boolean {
    const i = this.all.indexOf(consumer);
    if (i < 0) return false;
    this.all.splice(i, 1);
    if (this.#next > i) this.#next--;
    const all = this.all;
    // The next active one: the highest priority, then the earliest (all's own order).
    if (consumer === this.#active) this.#active = all[0];
    this.#mixedPriorities = all.length > 0 && all[0]!.priority !== all[all.length - 1]!.priority;
    return true;
  }

  clear(): Consumer[] {
    const all = this.all;
    this.all = [];
    this.#active = undefined;
    this.#next = 0;
    return all;
  }

  /** The single active consumer (the earliest still subscribed), if that mode is on. */
  get active(): Consumer | undefined {
    return this.singleActive ? this.#active : undefined;
  }

  /** The consumer that should get the next message now, or undefined when none can take one. */
  nextAccepting(): Consumer | undefined {
    if (this.singleActive) {
      const c = this.#active;
      return c && c.canAccept() ? c : undefined;
    }
    const all = this.all;
    const n = all.length;
    if (!this.#mixedPriorities) return this.#roundRobin(0, n);
    for (let start = 0; start < n;) {
      const p = all[start]!.priority;
      let end = start + 1;
      while (end < n && all[end]!.priority === p) end++;
      const c = this.#roundRobin(start, end);
      if (c) return c;
      start = end;
    }
    return undefined;
  }

  /** Round-robin over all[start, end), from where the last pass stopped. */
  #roundRobin(start: number, end: number): Consumer | undefined {
    const all = this.all;
    for (let tried = start; tried < end; tried++) {
      if (this.#next < start || this.#next >= end) this.#next = start;
      const c = all[this.#next++]!;
      if (c.canAccept()) return c;
    }
    return undefined;
  }
}
