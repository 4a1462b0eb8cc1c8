import { CheckName, ErrorCode, AdminRole } from '@dirsync/proto';
import { DirsyncError, isGuid, type CheckContext, type EntraSettings } from '@dirsync/kit';
import { graphStatus, translateGraphError } from './errors.js';
import { GraphSession, type RetryPolicy } from './graph.js';
import { PERM_GROUPS, PERM_USERS } from './reader.js';

/** A connection test waits out throttling briefly, not for minutes as a run does. */
const CHECK_RETRY: Partial<RetryPolicy> = {
  maxAttempts: 2,
  baseDelayMs: 200,
  maxDelayMs: 1_000,
  maxRetryAfterMs: 5_000,
};

/**
 * The connection test of an Entra ID directory: TOKEN (the app's credential is accepted by the
 * login endpoint), API (Microsoft Graph accepts the token), PERMISSION for each application
 * permission a sync needs (User.Read.All, GroupMember.Read.All: a 403 names the missing one),
 * GROUP for each selected group and ADMIN_GROUP for each admin role group (it exists in the
 * tenant). Errors come from the run's translation (errors.ts).
 */
export async function checkEntra(
  ctx: CheckContext<EntraSettings>,
  opts: { retry?: Partial<RetryPolicy> } = {},
): Promise<void> {
  const s = ctx.settings;
  const secret = ctx.secrets[s.credential];
  const groups = [...new Set(ctx.directory.selectedGroups.map((g) => g.trim().toLowerCase()))];
  const roleGroups = ctx.directory.adminRoleGroups.flatMap((r) =>
    r.groups.map((g) => ({ id: g.trim().toLowerCase(), role: r.role })),
  );
  const skipAfter = (why: string, from: 'api' | 'permissions' | 'groups') => {
    if (from === 'api') ctx.skip(CheckName.API, '', why);
    if (from !== 'groups') {
      ctx.skip(CheckName.PERMISSION, PERM_USERS, why);
      ctx.skip(CheckName.PERMISSION, PERM_GROUPS, why);
    }
    for (const id of groups) ctx.skip(CheckName.GROUP, id, why);
    for (const g of roleGroups) ctx.skip(CheckName.ADMIN_GROUP, g.id, why);
  };
  if (!secret) {
    await ctx.check(CheckName.SETTINGS, s.credential, async () => {
      throw new DirsyncError(ErrorCode.CONFIG_INVALID, `the secret "${s.credential}" is not set`);
    });
    return;
  }
  const graph = new GraphSession({
    settings: s,
    secret,
    signal: ctx.signal,
    logger: ctx.logger,
    retry: { ...CHECK_RETRY, ...opts.retry },
  });
  const app = `app ${s.clientId} of tenant ${s.tenantId}`;
  const fail = (err: unknown, what: string, permission: string) =>
    translateGraphError(err, {
      tenantId: s.tenantId,
      clientId: s.clientId,
      what,
      permission,
      midRun: false,
    });
  try {
    const login = new URL(graph.loginUrl).host;
    const api = new URL(graph.graphUrl).host;
    const token = await ctx.check(CheckName.TOKEN, `${login}/${s.tenantId}`, async () => {
      try {
        await graph.accessToken();
      } catch (err) {
        throw fail(err, 'getting an access token', '');
      }
      return `${login} issued an access token to ${app} (${s.credential === 'clientCertificate' ? 'client certificate' : 'client secret'})`;
    });
    if (!token) return skipAfter(`needs an access token for ${app}`, 'api');

    // Any answer from Graph but 401 shows it takes the token; 403 is the permission's check.
    let mayReadUsers = false;
    const reached = await ctx.check(CheckName.API, api, async () => {
      try {
        await graph.get('/users', { $top: '1', $select: 'id' });
        mayReadUsers = true;
      } catch (err) {
        if (graphStatus(err) !== 403) throw fail(err, 'reading one user', PERM_USERS);
      }
      return `Microsoft Graph at ${api} accepted the token`;
    });
    if (!reached)
      return skipAfter(`needs Microsoft Graph at ${api} to accept the token`, 'permissions');

    await ctx.check(CheckName.PERMISSION, PERM_USERS, async () => {
      if (!mayReadUsers) {
        throw new DirsyncError(
          ErrorCode.INSUFFICIENT_ACCESS,
          `${app} may not read users: grant it the application permission ${PERM_USERS} with admin consent (Graph answered 403 Authorization_RequestDenied)`,
        );
      }
      return `${app} may read users (${PERM_USERS})`;
    });
    const mayReadGroups = await ctx.check(CheckName.PERMISSION, PERM_GROUPS, async () => {
      try {
        await graph.get('/groups/delta', { $deltatoken: 'latest', $select: 'id' });
      } catch (err) {
        if (graphStatus(err) === 403) {
          throw new DirsyncError(
            ErrorCode.INSUFFICIENT_ACCESS,
            `${app} may not read groups and their members: grant it the application permission ${PERM_GROUPS} with admin consent (Graph answered 403 Authorization_RequestDenied)`,
          );
        }
        throw fail(err, 'reading groups', PERM_GROUPS);
      }
      return `${app} may read groups and their members (${PERM_GROUPS})`;
    });
    if (!mayReadGroups) return skipAfter(`needs the permission ${PERM_GROUPS}`, 'groups');

    const group = async (id: string, label: string) => {
      if (!isGuid(id)) {
        throw new DirsyncError(
          ErrorCode.CONFIG_INVALID,
          `${label} "${id}" is not a group object id (GUID)`,
        );
      }
      let found: { displayName?: string | null };
      try {
        found = await graph.get<{ displayName?: string | null }>(
          `/groups/${encodeURIComponent(id)}`,
          { $select: 'id,displayName' },
        );
      } catch (err) {
        if (graphStatus(err) === 404) {
          throw new DirsyncError(
            ErrorCode.GROUP_NOT_FOUND,
            `${label} "${id}" does not exist in tenant ${s.tenantId}`,
          );
        }
        throw fail(err, `reading the ${label} ${id}`, PERM_GROUPS);
      }
      return `found the group${found.displayName ? ` "${found.displayName}"` : ''} in tenant ${s.tenantId}`;
    };
    for (const id of groups)
      await ctx.check(CheckName.GROUP, id, () => group(id, 'selected group'));
    for (const g of roleGroups) {
      await ctx.check(CheckName.ADMIN_GROUP, g.id, () =>
        group(g.id, `${AdminRole[g.role]} role group`),
      );
    }
  } finally {
    graph.close();
  }
}
