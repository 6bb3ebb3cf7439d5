import type { CommitWaiter, GroupCommit } from '../../store/segment/group-commit.js';
import * as M from './codec/methods.generated.js';
import type { Outbox } from './outbox.js';

/** What the confirm tracker needs from its channel. */
export interface ConfirmTarget {
  readonly id: number;
  readonly open: boolean;
  readonly outbox: Outbox;
  /** Every confirm owed so far went out (a deferred channel.close may proceed). */
  confirmsSettled(): void;
  /** basic.ack went out for `count` publishes (statistics). */
  confirmsSent(count: number): void;
}

/**
 * Publisher confirms of one channel (RabbitMQ's confirm extension). A publish that wrote a
 * persistent message to a durable queue is confirmed only after the group-commit round covering it
 * has fsynced (`epoch`); a publish without that need is confirmed at once, unless an earlier one is
 * still waiting: confirms go out in publish order, so one basic.ack with `multiple` covers a batch.
 * A round that failed to reach the disk turns its confirms into basic.nack.
 */
export class PublisherConfirms implements CommitWaiter {
  readonly #target: ConfirmTarget;
  readonly #commit: GroupCommit;
  #published = 0;
  #confirmed = 0;
  /** Highest publish needing no round and behind no waiting publish. */
  #free = 0;
  // Waiting publishes, in order: every publish up to markSeq[i] needs round markEpoch[i].
  #markSeq: number[] = [];
  #markEpoch: number[] = [];
  #markHead = 0;
  #waiting = false;
  #scheduled = false;
  /** Publishes a queue refused (x-overflow reject-publish), in order: nacked when their turn comes. */
  #refusedSeqs: number[] = [];
  #refusedHead = 0;
  #refuseNext = false;

  constructor(target: ConfirmTarget, commit: GroupCommit) {
    this.#target = target;
    this.#commit = commit;
  }

  /** Publishes not yet confirmed or nacked. */
  get pending(): number {
    return this.#published - this.#confirmed;
  }

  /** The publish being routed was refused by a queue: it gets a nack instead of an ack. */
  refused(): void {
    this.#refuseNext = true;
  }

  /** One publish was routed; `epoch` is the round it waits for, 0 for none. */
  published(epoch: number): void {
    const seq = ++this.#published;
    if (this.#refuseNext) {
      this.#refuseNext = false;
      this.#refusedSeqs.push(seq);
    }
    const marks = this.#markSeq.length - this.#markHead;
    if (marks === 0 && epoch === 0) this.#free = seq;
    else if (marks > 0 && (epoch === 0 || epoch === this.#markEpoch[this.#markEpoch.length - 1])) {
      this.#markSeq[this.#markSeq.length - 1] = seq;
    } else {
      this.#markSeq.push(seq);
      this.#markEpoch.push(epoch);
      if (!this.#waiting) {
        this.#waiting = true;
        this.#commit.wait(this);
      }
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      process.nextTick(flushFree, this);
    }
  }

  /** Confirms what needs no round (batched: called once per tick, and before a close). */
  flush(): void {
    this.#scheduled = false;
    if (this.#free > this.#confirmed) this.#send(M.BASIC_ACK, this.#free);
    if (this.pending === 0) this.#target.confirmsSettled();
  }

  committed(round: number, ok: boolean): void {
    this.#waiting = false;
    this.flush();
    while (this.#markHead < this.#markSeq.length && this.#markEpoch[this.#markHead]! <= round) {
      this.#send(ok ? M.BASIC_ACK : M.BASIC_NACK, this.#markSeq[this.#markHead++]!);
    }
    if (this.#markHead === this.#markSeq.length) {
      this.#markSeq = [];
      this.#markEpoch = [];
      this.#markHead = 0;
      this.#free = this.#published;
      if (this.pending === 0) this.#target.confirmsSettled();
    } else {
      this.#waiting = true;
      this.#commit.wait(this);
    }
  }

  /** Confirms everything up to `upTo` with `id`, except refused publishes, which are nacked one by one. */
  #send(id: typeof M.BASIC_ACK | typeof M.BASIC_NACK, upTo: number): void {
    const refused = this.#refusedSeqs;
    while (this.#refusedHead < refused.length && refused[this.#refusedHead]! <= upTo) {
      const seq = refused[this.#refusedHead++]!;
      if (seq - 1 > this.#confirmed) this.#sendUpTo(id, seq - 1);
      this.#sendUpTo(M.BASIC_NACK, seq);
    }
    if (this.#refusedHead === refused.length && refused.length > 0) {
      this.#refusedSeqs = [];
      this.#refusedHead = 0;
    }
    if (upTo > this.#confirmed) this.#sendUpTo(id, upTo);
  }

  #sendUpTo(id: typeof M.BASIC_ACK | typeof M.BASIC_NACK, upTo: number): void {
    const count = upTo - this.#confirmed;
    const multiple = count > 1;
    this.#confirmed = upTo;
    if (!this.#target.open) return;
    if (id === M.BASIC_ACK) {
      this.#target.confirmsSent(count);
      this.#target.outbox.writeMethod(this.#target.id, { id, deliveryTag: upTo, multiple });
    } else this.#target.outbox.writeMethod(this.#target.id, { id, deliveryTag: upTo, multiple, requeue: false });
  }
}

function flushFree(confirms: PublisherConfirms): void {
  confirms.flush();
}
