import { ErrorCode, errorCodeName, type ObjectError } from '@dirsync/proto';
import type { Sql } from '../db/sql.js';
import { errorChange } from './changes.js';
import { objectError, type RunState } from './run.repository.js';

/**
 * Per-user limits. Over a limit the user is imported with the first values — aliases and
 * phones in source order, groups in group-name order — and the run reports a LIMIT_EXCEEDED
 * per-object error naming what was left out, at every run while it lasts: nothing is dropped
 * silently, and nobody is locked out for a detail (docs/lifecycle.md). FULL and USER runs
 * apply the group limit to what they observed, DELTA runs to the groups a user has after the
 * run's statements (`delta.apply.ts`), all with {@link GROUP_RANK}.
 */
export const USER_LIMITS = { aliases: 8, phones: 100, groups: 100 } as const;

/**
 * The group-limit errors of a completing FULL (or USER: `userExternalId`) run: the users whose
 * observed memberships, in groups that exist, exceed `USER_LIMITS.groups`. The membership
 * statements keep the first groups by name (`rankedMemberships`); this names the rest. One
 * cheap aggregate when nobody is over the limit.
 */
export async function groupLimitErrors(
  sql: Sql,
  run: RunState,
  userExternalId?: string,
): Promise<ObjectError[]> {
  const rows = await sql.rows<{
    user_id: string;
    external_id: string;
    username: string;
    source_locator: string | null;
    n: string;
    dropped: string[];
  }>(
    `with m as (
       select distinct rm.user_external_id, g.id as group_id, g.name, g.name_key
       from run_memberships rm
       join groups g on g.directory_id = ? and g.external_id = rm.group_external_id
       where rm.run_id = ? and (?::text is null or rm.user_external_id = ?::text)
     ),
     over as (
       select user_external_id from m group by 1 having count(*) > ?
     ),
     ranked as (
       select m.*, row_number() over (partition by m.user_external_id
                                      order by m.name_key, m.group_id) as n
       from m where m.user_external_id in (select user_external_id from over)
     )
     select u.id as user_id, u.external_id, u.username, u.source_locator,
       (select count(*) from ranked r where r.user_external_id = u.external_id) as n,
       array(select r.name from ranked r where r.user_external_id = u.external_id and r.n > ?
             order by r.n limit 5) as dropped
     from users u
     where u.directory_id = ? and u.status <> 'pending_deletion'
       and u.external_id in (select user_external_id from over)
     order by u.username_key`,
    [
      run.directoryId,
      run.runId,
      userExternalId ?? null,
      userExternalId ?? null,
      USER_LIMITS.groups,
      USER_LIMITS.groups,
      run.directoryId,
    ],
  );
  return rows.map((r) => {
    const n = Number(r.n);
    return groupLimitError(
      run,
      r,
      `${r.username} is in ${n} groups; the first ${USER_LIMITS.groups} by name are imported, left out: ${leftOut(r.dropped, n - USER_LIMITS.groups)}`,
    );
  });
}

/** At most this many left-out group names per error; the rest are counted. */
const NAMED = 5;

/** `"a", "b" and 3 more`: the first left-out names of `count`. */
function leftOut(names: readonly string[], count: number): string {
  const shown = names.slice(0, NAMED);
  const more = count - shown.length;
  return `${shown.map((d) => `"${d}"`).join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/** One user's LIMIT_EXCEEDED: counted in `errors`, recorded as the run's change, returned. */
function groupLimitError(
  run: RunState,
  u: { user_id: string; external_id: string; username: string; source_locator: string | null },
  message: string,
): ObjectError {
  const e = objectError(ErrorCode.LIMIT_EXCEEDED, message, u.external_id, u.source_locator ?? '');
  run.counts.errors += 1;
  run.changes.push(
    errorChange(run, e, errorCodeName(e.code), { userId: u.user_id, username: u.username }),
  );
  return e;
}

/** A membership a DELTA run leaves out for the group limit ({@link deltaGroupLimitErrors}). */
export interface DroppedMembership {
  group_id: string;
  user_id: string;
  external_id: string;
  username: string;
  source_locator: string | null;
  name: string;
  /** The user's groups after the run, before the limit. */
  total: string;
}

/**
 * The group-limit errors of a DELTA run, from the memberships it leaves out (ordered by user,
 * then group rank): one per user, as a FULL run reports it. A delta knows the groups dirsync
 * holds plus what the run added, not the source's whole list, hence "more than".
 */
export function deltaGroupLimitErrors(
  run: RunState,
  dropped: readonly DroppedMembership[],
): ObjectError[] {
  const byUser = new Map<string, DroppedMembership[]>();
  for (const d of dropped) {
    const list = byUser.get(d.user_id);
    if (list) list.push(d);
    else byUser.set(d.user_id, [d]);
  }
  return [...byUser.values()].map((list) => {
    const u = list[0] as DroppedMembership;
    return groupLimitError(
      run,
      u,
      `${u.username} is in more than ${USER_LIMITS.groups} groups (${u.total} after this delta sync); the first ${USER_LIMITS.groups} by name are kept, left out: ${leftOut(
        list.map((d) => d.name),
        list.length,
      )}`,
    );
  });
}

/**
 * The order that decides which groups a user over the limit keeps: group name (its key), then
 * id. FULL, USER and DELTA runs all rank by it, so they keep the same groups and a DELTA run
 * followed by a FULL one changes no membership. `s` has `user_id`, `name_key`, `group_id`.
 */
export const GROUP_RANK =
  'row_number() over (partition by s.user_id order by s.name_key, s.group_id)';

/**
 * The observed memberships `source` (a select of group_id, user_id, name_key) limited to the
 * first `USER_LIMITS.groups` groups of each user by group name: what the membership
 * statements make the stored set.
 */
export function rankedMemberships(source: string): string {
  return `select group_id, user_id from (
         select s.group_id, s.user_id, ${GROUP_RANK} as n
         from (select distinct group_id, user_id, name_key from (${source}) x) s) r
       where r.n <= ${USER_LIMITS.groups}`;
}
