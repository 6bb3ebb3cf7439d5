/**
 * Durable changes that must be on disk before any reply leaves the broker.
 *
 * Topology changes (a durable exchange, queue or binding declared or deleted) are saved to
 * definitions.json coalesced: the first change of an event-loop turn schedules one save for the
 * end of the turn, so a client that pipelines 10,000 declares costs a few saves, not 10,000
 * (issue 6, S5: 10k durable declares took 109 s with a save per declare). A client must still
 * never see declare-ok for a queue that a crash right after would lose: so every way a reply
 * leaves (an AMQP connection's outbox flush, an HTTP API response) first runs the pending saves
 * here. When nothing is pending this is one boolean test.
 */
const pending = new Set<() => void>();
let any = false;

/** Runs `save` before the next reply leaves, unless it ran already (the caller also schedules it). */
export function beforeNextReply(save: () => void): void {
  pending.add(save);
  any = true;
}

/** Called where replies leave: runs every pending save first. */
export function writeBarrier(): void {
  if (!any) return;
  any = false;
  const saves = [...pending];
  pending.clear();
  for (const save of saves) save();
}

/** A save that ran on its own (scheduled, or at shutdown) no longer needs the barrier. */
export function saved(save: () => void): void {
  pending.delete(save);
  any = pending.size > 0;
}
