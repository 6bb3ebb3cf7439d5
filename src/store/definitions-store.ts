/**
 * Durable topology: vhosts, users, permissions, and the durable exchanges, queues and bindings and the policies of every vhost, in one JSON file
 * `definitions.json` in the data directory. Written atomically: the new content goes to
 * `definitions.json.tmp`, is fsynced, renamed over the old file, and the directory is fsynced,
 * so a crash leaves either the old or the new file, never a torn one.
 *
 * Format (version 1):
 *   { "format": "warren-definitions", "version": 1,
 *     "vhosts":    [{ "name": "/", "description", "tags": [], "tracing": true (only when on), "metadata": { "description", "tags", "default_queue_type" } }],
 *     "users":     [{ "name", "password_hash": base64, "hashing_algorithm", "tags": [], "limits": {} }],
 *     "permissions":       [{ "user", "vhost", "configure", "write", "read" }],
 *     "topic_permissions": [{ "user", "vhost", "exchange", "write", "read" }],
 *     "exchanges": [{ "vhost", "name", "type", "durable", "auto_delete", "internal", "arguments" }],
 *     "queues":    [{ "vhost", "name", "durable", "auto_delete", "arguments" }],
 *     "bindings":  [{ "vhost", "source", "destination", "destination_type": "queue"|"exchange",
 *                     "routing_key", "arguments" }],
 *     "policies":  [{ "vhost", "name", "pattern", "apply-to", "priority", "definition" }] }
 * `arguments` is the AMQP field table encoded as in the protocol (§4.2.5.5), base64: it keeps
 * every field type exactly, which JSON alone would not (int vs long, byte arrays, decimals).
 * A policy entry has RabbitMQ's definitions shape, its `definition` plain JSON (it is JSON to begin
 * with). `policies` was added later within version 1: a file without it has no policies. Users,
 * permissions and vhost metadata have RabbitMQ's definitions shape too (so its exports can be read);
 * they were added later as well: a file without `users` is from before users were stored, and the
 * broker then starts with guest as it used to.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Reader, Writer } from '../protocol/amqp/codec/buffer-io.js';
import type { FieldTable } from '../protocol/amqp/codec/field-table.js';
import type { TopicPermission, UserPermission } from '../core/auth/permissions.js';
import type { UserDefinition } from '../core/users.js';

export interface ExchangeDefinition {
  vhost: string; name: string; type: string; durable: boolean; auto_delete: boolean; internal: boolean; arguments: FieldTable;
}
export interface QueueDefinition {
  vhost: string; name: string; durable: boolean; auto_delete: boolean; arguments: FieldTable;
}
export interface BindingDefinition {
  vhost: string; source: string; destination: string; destination_type: 'queue' | 'exchange'; routing_key: string; arguments: FieldTable;
}
/** A policy as RabbitMQ's definitions export and management API show it. */
export interface PolicyDefinition {
  vhost: string; name: string; pattern: string; 'apply-to': string; priority: number; definition: Record<string, unknown>;
}
/** A vhost as RabbitMQ's definitions have it (3.11+ repeat description and tags under metadata). */
export interface VhostDefinition {
  name: string; description?: string; tags?: string[] | string;
  /** The firehose switch (added later within version 1: absent is off). */
  tracing?: boolean;
  metadata?: { description?: string; tags?: string[] | string; default_queue_type?: string };
}
export interface Definitions {
  vhosts: VhostDefinition[];
  /** Absent in files written before users were stored. */
  users?: UserDefinition[];
  permissions?: UserPermission[];
  topic_permissions?: TopicPermission[];
  exchanges: ExchangeDefinition[];
  queues: QueueDefinition[];
  bindings: BindingDefinition[];
  policies: PolicyDefinition[];
}

const FILE = 'definitions.json';
const FORMAT = 'warren-definitions';
const VERSION = 1;

export class DefinitionsStore {
  readonly #dir: string;

  constructor(dataDir: string) {
    this.#dir = dataDir;
    mkdirSync(dataDir, { recursive: true });
  }

  get path(): string {
    return join(this.#dir, FILE);
  }

  /** The stored definitions, or undefined on a fresh data directory. Throws on a corrupt file. */
  load(): Definitions | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const raw = JSON.parse(text) as Record<string, unknown>;
    if (raw.format !== FORMAT || raw.version !== VERSION) {
      throw new Error(`${this.path}: not a version ${VERSION} Warren definitions file`);
    }
    const defs = raw as unknown as Definitions;
    defs.policies ??= [];
    for (const list of [defs.exchanges, defs.queues, defs.bindings]) {
      for (const d of list) d.arguments = decodeArgs(d.arguments as unknown as string);
    }
    return defs;
  }

  save(defs: Definitions): void {
    const out = {
      format: FORMAT, version: VERSION,
      vhosts: defs.vhosts,
      users: defs.users ?? [],
      permissions: defs.permissions ?? [],
      topic_permissions: defs.topic_permissions ?? [],
      exchanges: defs.exchanges.map((d) => ({ ...d, arguments: encodeArgs(d.arguments) })),
      queues: defs.queues.map((d) => ({ ...d, arguments: encodeArgs(d.arguments) })),
      bindings: defs.bindings.map((d) => ({ ...d, arguments: encodeArgs(d.arguments) })),
      policies: defs.policies,
    };
    const tmp = this.path + '.tmp';
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify(out, null, 1));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    const dirFd = openSync(this.#dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }
}

function encodeArgs(args: FieldTable): string {
  const w = new Writer(64);
  w.table(args);
  return w.toBuffer().toString('base64');
}

function decodeArgs(b64: string): FieldTable {
  const buf = Buffer.from(b64, 'base64');
  return new Reader(buf).table();
}
