import { createLogger } from '../../log.js';
import type { Definitions } from '../../store/definitions-store.js';
import type { UserRegistry } from '../users.js';
import type { Permissions, PermissionStore } from './permissions.js';

/**
 * Users and permissions in and out of definitions.json (RabbitMQ's definitions shape), and the
 * defaults a broker starts with. The vhosts themselves are the broker's (it owns them).
 */
const log = createLogger('broker');

export const FULL_ACCESS: Permissions = { configure: '.*', write: '.*', read: '.*' };

/** guest/guest (administrator), loopback-only, with full permissions on `vhosts`: RabbitMQ's default user. */
export function addGuest(users: UserRegistry, permissions: PermissionStore, vhosts: Iterable<string>): void {
  users.put('guest', { password: 'guest', tags: ['administrator'] });
  for (const v of vhosts) permissions.set('guest', v, FULL_ACCESS);
}

export function collectAccess(users: UserRegistry, permissions: PermissionStore): Pick<Definitions, 'users' | 'permissions' | 'topic_permissions'> {
  return { users: users.toDefinitions(), permissions: permissions.list(), topic_permissions: permissions.listTopic() };
}

/**
 * Restores users and permissions once the vhosts exist. A file from before they were stored has no
 * `users`: guest comes back with full permissions on every vhost, which is what it could do then.
 * An entry that does not validate (a hand-edited file, a bcrypt hash from elsewhere, a permission
 * naming a missing user or vhost) is logged and skipped: the broker still starts.
 */
export function restoreAccess(defs: Definitions, users: UserRegistry, permissions: PermissionStore, vhosts: ReadonlyMap<string, unknown>): void {
  if (defs.users === undefined) return addGuest(users, permissions, vhosts.keys());
  const attempt = (what: string, entry: object, restore: () => void): void => {
    try {
      restore();
    } catch (err) {
      log.error(`stored ${what} not restored`, { entry, err });
    }
  };
  const check = (p: { user: string; vhost: string }): void => {
    if (!users.has(p.user)) throw new Error(`no user '${p.user}'`);
    if (!vhosts.has(p.vhost)) throw new Error(`no vhost '${p.vhost}'`);
  };
  for (const u of defs.users) attempt('user', { name: u.name }, () => users.restore(u));
  for (const p of defs.permissions ?? []) attempt('permission', p, () => (check(p), permissions.set(p.user, p.vhost, p)));
  for (const p of defs.topic_permissions ?? []) attempt('topic permission', p, () => (check(p), permissions.setTopic(p.user, p.vhost, p)));
}
