import type { Policy, PolicyTarget } from './policy.js';

/**
 * The policies of one vhost, and the choice of the one policy that applies to an object.
 *
 * Choice: among the policies whose apply-to admits the object and whose pattern matches its name,
 * the highest priority wins. RabbitMQ picks "undeterministically" between matches of equal
 * priority (its docs warn against relying on it); Warren breaks the tie by name, the smaller name
 * (UTF-16 code unit order) winning, so the choice is the same on every start and every node.
 */
export class PolicySet {
  readonly #byName = new Map<string, Policy>();
  /** Every policy in the order they are tried: priority descending, then name ascending. */
  #ordered: Policy[] = [];

  get size(): number {
    return this.#byName.size;
  }

  get(name: string): Policy | undefined {
    return this.#byName.get(name);
  }

  /** Adds a policy or replaces the one of the same name; returns the replaced one. */
  set(policy: Policy): Policy | undefined {
    const previous = this.#byName.get(policy.name);
    this.#byName.set(policy.name, policy);
    this.#reorder();
    return previous;
  }

  /** Removes a policy; returns it, or undefined when there was none of that name. */
  delete(name: string): Policy | undefined {
    const previous = this.#byName.get(name);
    if (!previous) return undefined;
    this.#byName.delete(name);
    this.#reorder();
    return previous;
  }

  /** All policies, by name. */
  list(): Policy[] {
    return [...this.#byName.values()].sort((a, b) => compareNames(a.name, b.name));
  }

  /** The policy that applies to an object of this kind and name, if any. */
  match(target: PolicyTarget, name: string): Policy | undefined {
    for (const p of this.#ordered) if (p.appliesTo(target) && p.matches(name)) return p;
    return undefined;
  }

  #reorder(): void {
    this.#ordered = [...this.#byName.values()].sort(byPrecedence);
  }
}

/** Sort order of candidate policies: the one that applies first. */
export function byPrecedence(a: Policy, b: Policy): number {
  return b.priority - a.priority || compareNames(a.name, b.name);
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
