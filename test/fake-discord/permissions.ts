// Discord's permission algorithm, as documented in
// https://discord.com/developers/docs/topics/permissions#permission-overwrites
// The fake server uses it for `member.permissions` / `app_permissions` in interactions and to
// refuse REST calls the bot could not make on real Discord (Missing Access / Missing Permissions).
import { PermissionFlagsBits } from 'discord-api-types/v10';

export const ALL_PERMISSIONS: bigint = Object.values(PermissionFlagsBits).reduce((all, flag) => all | flag, 0n);

export interface PermissionOverwrite {
  /** Role id (type 0) or user id (type 1). The @everyone overwrite has the guild id. */
  id: string;
  type: 0 | 1;
  allow: bigint;
  deny: bigint;
}

export interface PermissionSubject {
  guildId: string;
  ownerId: string;
  userId: string;
  /** Role ids of the member, without @everyone. */
  memberRoleIds: readonly string[];
  /** Permissions of every role in the guild, @everyone (id = guild id) included. */
  rolePermissions: ReadonlyMap<string, bigint>;
}

/** Guild-level permissions: @everyone plus every role of the member; owner and Administrator get everything. */
export function basePermissions(subject: PermissionSubject): bigint {
  if (subject.userId === subject.ownerId) return ALL_PERMISSIONS;
  let permissions = subject.rolePermissions.get(subject.guildId) ?? 0n;
  for (const roleId of subject.memberRoleIds) permissions |= subject.rolePermissions.get(roleId) ?? 0n;
  if ((permissions & PermissionFlagsBits.Administrator) !== 0n) return ALL_PERMISSIONS;
  return permissions;
}

/**
 * Channel-level permissions: base, then the @everyone overwrite, then all role overwrites of the
 * member combined, then the member's own overwrite (Discord's documented compute_overwrites,
 * which is also what discord.js computes). Discord clients additionally treat a channel without
 * ViewChannel as no permissions at all: check ViewChannel first.
 */
export function channelPermissions(subject: PermissionSubject, overwrites: readonly PermissionOverwrite[]): bigint {
  const base = basePermissions(subject);
  if ((base & PermissionFlagsBits.Administrator) !== 0n) return ALL_PERMISSIONS;
  let permissions = base;
  const everyone = overwrites.find((overwrite) => overwrite.id === subject.guildId);
  if (everyone) permissions = (permissions & ~everyone.deny) | everyone.allow;
  let roleAllow = 0n;
  let roleDeny = 0n;
  for (const overwrite of overwrites) {
    if (overwrite.type === 0 && subject.memberRoleIds.includes(overwrite.id)) {
      roleAllow |= overwrite.allow;
      roleDeny |= overwrite.deny;
    }
  }
  permissions = (permissions & ~roleDeny) | roleAllow;
  const member = overwrites.find((overwrite) => overwrite.type === 1 && overwrite.id === subject.userId);
  if (member) permissions = (permissions & ~member.deny) | member.allow;
  return permissions;
}
