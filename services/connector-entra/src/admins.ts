import { ErrorCode, type AdminRole } from '@dirsync/proto';
import { DirsyncError, type SourceAdmin } from '@dirsync/kit';
import {
  adminSelect,
  mapUser,
  usersWhere,
  type GraphUser,
  type ResolvedMapping,
} from './mapping.js';
import { PERM_MEMBERS, PERM_USERS, type TenantReader } from './reader.js';

/** A Graph user with the admin properties selected, as the kit's SourceAdmin (mapped as users are). */
function mapAdmin(u: GraphUser, m: ResolvedMapping, roles: AdminRole[]): SourceAdmin {
  const user = mapUser(u, m);
  return {
    externalId: user.externalId,
    email: user.email,
    roles,
    firstName: user.firstName,
    lastName: user.lastName,
    displayName: user.displayName,
    disabled: user.disabled,
    sourceLocator: user.sourceLocator,
  };
}

/**
 * ADMIN runs: the users who are transitive members of the directory's admin role groups (group
 * object ids; Graph computes the nesting), each handed to `sink.admin` once with the roles of
 * every role group they are in. The role groups are checked to exist first (GROUP_NOT_FOUND
 * names every missing one), in both forms of the run.
 *
 * - Every administrator: one paged `transitiveMembers/microsoft.graph.user` read per role group
 *   (`$select` = the admin properties only), merged by user id before anything is handed over.
 * - `email`: one `$filter` equality on the mapping's e-mail property (an OData string literal,
 *   never a pattern; Graph compares it case-insensitively), then the `transitiveMemberOf` groups
 *   of each match say its roles; nothing when it is in no role group.
 *
 * Merging by e-mail and the highest role are the kit's.
 */
export async function readAdmins(reader: TenantReader, email: string | undefined): Promise<void> {
  const { ctx } = reader;
  const configured = ctx.directory.adminRoleGroups;
  if (configured.every((r) => r.groups.length === 0)) {
    throw new DirsyncError(
      ErrorCode.CONFIG_INVALID,
      'adminRoles: the directory maps no group to an admin role',
    );
  }
  // Role of each role group (a group mapped to two roles keeps the first, most privileged: sync
  // refuses such a mapping, and the order is the role order).
  const roleOf = new Map<string, AdminRole>();
  for (const { role, groups } of configured) {
    for (const g of groups) {
      const id = g.trim().toLowerCase();
      if (!roleOf.has(id)) roleOf.set(id, role);
    }
  }
  await reader.groupsById([...roleOf.keys()], 'admin role group');
  const select = adminSelect(reader.mapping);
  const top = String(reader.pageSize);

  if (email !== undefined) {
    const { query, headers } = usersWhere(reader.mapping.email, email, select);
    for await (const page of reader.pages<GraphUser>(
      `looking up the administrator "${email}"`,
      PERM_USERS,
      '/users',
      query,
      headers,
    )) {
      for (const u of page) {
        const roles: AdminRole[] = [];
        for await (const gp of reader.pages<{ id: string }>(
          `reading the groups of user ${u.id}`,
          PERM_MEMBERS,
          `/users/${u.id}/transitiveMemberOf/microsoft.graph.group`,
          { $select: 'id', $top: top },
        )) {
          for (const g of gp) {
            const role = roleOf.get(g.id.toLowerCase());
            if (role !== undefined) roles.push(role);
          }
        }
        if (roles.length === 0) continue; // exists, but in no role group
        await reader.sink.admin(mapAdmin(u, reader.mapping, roles));
      }
    }
    return;
  }

  const people = new Map<string, { user: GraphUser; roles: AdminRole[] }>();
  for (const [gid, role] of roleOf) {
    for await (const page of reader.pages<GraphUser>(
      `reading the members of admin role group ${gid}`,
      PERM_MEMBERS,
      `/groups/${gid}/transitiveMembers/microsoft.graph.user`,
      { $select: select, $top: top },
    )) {
      for (const u of page) {
        if (typeof u.id !== 'string') continue;
        const seen = people.get(u.id);
        if (seen) seen.roles.push(role);
        else people.set(u.id, { user: u, roles: [role] });
      }
    }
  }
  for (const { user, roles } of people.values()) {
    await reader.sink.admin(mapAdmin(user, reader.mapping, roles));
  }
}
