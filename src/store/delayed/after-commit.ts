import type { CommitWaiter, GroupCommit } from '../segment/group-commit.js';

/**
 * Things to do once the writes made so far are on disk: each item added now is handed to `done`
 * when the group-commit round covering the current writes has finished successfully. The delay
 * store uses it to delete a copied-from log only after its copies are synced, and to ack a fired
 * message only after its destination queues' copies are. A failed round (a refusing disk) keeps
 * the items for the next one.
 */
export class AfterCommit<T> implements CommitWaiter {
  readonly #commit: GroupCommit;
  readonly #done: (item: T) => void;
  // Epochs only grow, so the items are in epoch order.
  #items: { epoch: number; item: T }[] = [];
  #waiting = false;
  #dropped = false;

  constructor(commit: GroupCommit, done: (item: T) => void) {
    this.#commit = commit;
    this.#done = done;
  }

  get size(): number {
    return this.#items.length;
  }

  add(item: T): void {
    this.#items.push({ epoch: this.#commit.epoch, item });
    if (!this.#waiting) {
      this.#waiting = true;
      this.#commit.wait(this);
    }
  }

  committed(round: number, ok: boolean): void {
    this.#waiting = false;
    if (this.#dropped) return;
    const items = this.#items;
    let i = 0;
    if (ok) for (; i < items.length && items[i]!.epoch <= round; i++) this.#done(items[i]!.item);
    this.#items = items.slice(i);
    if (this.#items.length > 0) {
      this.#waiting = true;
      this.#commit.wait(this);
    }
  }

  /** Waits (a few rounds at most: a refusing disk must not hang a shutdown) until nothing is left. */
  async settle(): Promise<void> {
    for (let tries = 0; this.#items.length > 0 && tries < 3; tries++) {
      await new Promise<void>((resolve) => this.#commit.wait({ committed: () => resolve() }));
    }
  }

  /** Forgets every item (returned) and ignores rounds from now on. */
  drop(): T[] {
    this.#dropped = true;
    return this.#items.splice(0).map((x) => x.item);
  }
}
