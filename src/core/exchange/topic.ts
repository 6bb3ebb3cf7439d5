import type { Message } from '../message.js';
import type { Binding, Destination } from './exchange.js';
import { DestinationCounts, Exchange } from './exchange.js';

/** Routing results are cached per routing key; any bind/unbind clears the cache. */
const CACHE_LIMIT = 4096;

let nodeIds = 0;

class TrieNode {
  readonly id = nodeIds++;
  readonly words = new Map<string, TrieNode>();
  star: TrieNode | undefined;
  hash: TrieNode | undefined;
  destinations: DestinationCounts | undefined;
}

/**
 * Topic exchange (§3.1.3.3): binding keys are dot-separated words where `*` matches exactly one
 * word and `#` zero or more. Bindings live in a word trie; a routing key walks it once, and its
 * result is cached until the bindings change, since most workloads reuse a few routing keys.
 */
export class TopicExchange extends Exchange {
  readonly type = 'topic';
  readonly #root = new TrieNode();
  readonly #cache = new Map<string, Destination[]>();

  route(message: Message, out: Destination[]): void {
    const key = message.routingKey;
    let hit = this.#cache.get(key);
    if (!hit) {
      const found: Destination[] = [];
      matchWords(this.#root, key.split('.'), 0, found, new Set());
      hit = [...new Set(found)];
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
      this.#cache.set(key, hit);
    }
    for (let i = 0; i < hit.length; i++) out.push(hit[i]!);
  }

  protected addIndex(binding: Binding): void {
    let node = this.#root;
    for (const word of binding.routingKey.split('.')) node = childFor(node, word);
    (node.destinations ??= new DestinationCounts()).add(binding.destination);
    this.#cache.clear();
  }

  protected removeIndex(binding: Binding): void {
    const path: TrieNode[] = [this.#root];
    const words = binding.routingKey.split('.');
    for (const word of words) {
      const next = existingChild(path[path.length - 1]!, word);
      if (!next) return;
      path.push(next);
    }
    const leaf = path[path.length - 1]!;
    leaf.destinations?.remove(binding.destination);
    if (leaf.destinations?.size === 0) leaf.destinations = undefined;
    // Prune empty nodes bottom-up so a churn of distinct keys does not grow the trie forever.
    for (let i = words.length; i > 0; i--) {
      const node = path[i]!;
      if (node.destinations || node.words.size || node.star || node.hash) break;
      const parent = path[i - 1]!;
      const word = words[i - 1]!;
      if (word === '*') parent.star = undefined;
      else if (word === '#') parent.hash = undefined;
      else parent.words.delete(word);
    }
    this.#cache.clear();
  }
}

function childFor(node: TrieNode, word: string): TrieNode {
  if (word === '*') return (node.star ??= new TrieNode());
  if (word === '#') return (node.hash ??= new TrieNode());
  let child = node.words.get(word);
  if (!child) node.words.set(word, (child = new TrieNode()));
  return child;
}

function existingChild(node: TrieNode, word: string): TrieNode | undefined {
  if (word === '*') return node.star;
  if (word === '#') return node.hash;
  return node.words.get(word);
}

/**
 * Walks the trie for words[i..]. `seen` holds the (node, position) pairs already walked: `#` can
 * reach the same pair along many paths (`#.#.#.x` against a long key), and without it the walk is
 * exponential in the number of `#`; with it, at most nodes × (words + 1) steps.
 */
function matchWords(node: TrieNode, words: string[], i: number, out: Destination[], seen: Set<number>): void {
  const key = node.id * (words.length + 1) + i;
  if (seen.has(key)) return;
  seen.add(key);
  if (node.hash) {
    // `#` consumes zero or more words: try every possible rest of the key.
    for (let j = i; j <= words.length; j++) matchWords(node.hash, words, j, out, seen);
  }
  if (i === words.length) {
    node.destinations?.pushInto(out);
    return;
  }
  const exact = node.words.get(words[i]!);
  if (exact) matchWords(exact, words, i + 1, out, seen);
  if (node.star) matchWords(node.star, words, i + 1, out, seen);
}
