/**
 * Memory that the ready messages of non-durable queues may use, all queues together, before those
 * queues page their backlog to disk (RabbitMQ pages at half its memory watermark, as here by
 * default). Each queue still keeps its own small allowance in memory whatever the total.
 */
export class MemoryBudget {
  used = 0;
  limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  get exceeded(): boolean {
    return this.used >= this.limit;
  }
}

/** Estimated heap bytes of a queued entry and its Message besides the body and properties. */
export const ENTRY_OVERHEAD_BYTES = 200;
