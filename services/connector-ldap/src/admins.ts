import { ErrorCode, type AdminRole } from '@dirsync/proto';
import { DirsyncError, type LdapSettings, type RunContext } from '@dirsync/kit';
import { tryNormalizeDn, and, equals } from '@dirsync/kit/ldap';
import { computeScope, type GroupNode } from './graph.js';
import { AttributeNames, EntryAttributes, mapUser, userAttributes } from './mapping.js';
import type { LdapSession } from './session.js';
import { configInvalid, refsOf, reportCycles, reportUnresolved, type Plan } from './connector.js';

/**
 * ADMIN runs: the people in the directory's admin role groups (transitive: nested groups,
 * memberUid and AD primary groups count as for the selected groups), each with the roles of all
 * their role groups and the e-mail of the directory's mapping. The groups were read already; one
 * paged search of the users (with `job.email`: one escaped equality search on the e-mail
 * attribute) finds the role groups' members. Merging by e-mail and the highest role are the
 * kit's (`sink.admin`).
 */
export async function runAdmins(
  session: LdapSession,
  p: Plan,
  groups: Map<string, GroupNode>,
  ctx: RunContext<LdapSettings>,
  now: Date,
): Promise<void> {
  if (p.roleGroups.size === 0) {
    throw configInvalid('adminRoles: the directory maps no group to an admin role');
  }
  const missing = [...p.roleGroups].filter(([key]) => !groups.has(key)).map(([, g]) => g.dn);
  if (missing.length > 0) {
    throw new DirsyncError(
      ErrorCode.GROUP_NOT_FOUND,
      `admin role group${missing.length > 1 ? 's' : ''} ${missing.map((d) => `"${d}"`).join(', ')} ` +
        `not found under groupBaseDn "${p.groupBaseDn}"`,
    );
  }
  const scope = computeScope(groups, [...p.roleGroups.keys()], (dn) =>
    tryNormalizeDn(dn, p.dnOptions),
  );
  // The roles each member reference stands for.
  const rolesOf: AdminRole[][] = Array.from({ length: scope.refs.length }, () => []);
  for (const [key, { role }] of p.roleGroups) {
    for (const r of scope.members.get(key) ?? []) rolesOf[r]!.push(role);
  }
  await reportCycles(scope, ctx.sink);

  const email = ctx.job.email;
  const seenRef = new Uint8Array(scope.refs.length);
  const refs: number[] = [];
  const names = new AttributeNames();
  for await (const page of session.pages(p.userBaseDn, {
    filter: email ? and(p.userFilter, equals(p.mapping.email, email)) : p.userFilter,
    attributes: userAttributes(p.mapping, p.profile),
    what: email ? `the administrator "${email}"` : 'administrators',
  })) {
    for (const entry of page) {
      const attrs = new EntryAttributes(entry, names);
      refsOf(scope, p, entry.dn, attrs, refs);
      if (refs.length === 0) continue; // in no role group
      for (const r of refs) seenRef[r] = 1;
      const { user, problems } = mapUser(entry.dn, attrs, p.mapping, p.profile, now);
      for (const problem of problems) {
        await ctx.sink.objectError({
          externalId: user.externalId,
          sourceLocator: entry.dn,
          ...problem,
        });
      }
      await ctx.sink.admin({
        externalId: user.externalId,
        email: user.email,
        roles: refs.flatMap((r) => rolesOf[r] ?? []),
        firstName: user.firstName,
        lastName: user.lastName,
        displayName: user.displayName,
        disabled: user.disabled,
        sourceLocator: entry.dn,
      });
    }
    ctx.signal.throwIfAborted();
  }
  if (!email) await reportUnresolved(scope, seenRef, p, ctx.sink);
}
