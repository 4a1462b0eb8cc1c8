import {
  ErrorCode,
  SyncMode,
  Transition,
  errorCodeName,
  type GroupMembers,
  type ObjectError,
  type ObservedGroup,
} from '@dirsync/proto';
import type { Sql } from '../db/sql.js';
import { emitLifecycle, groupEvent } from '../lifecycle/lifecycle.outbox.js';
import { errorChange, type GroupField } from './changes.js';
import {
  hasNul,
  normalizeGroup,
  storedGroupId,
  storable,
  unusableGroup,
  type NormalizedGroup,
} from './normalize.js';
import { objectError, type RunState } from './run.repository.js';

const APPLY_GROUPS = `
with up as (
insert into groups as g (directory_id, external_id, name, name_key, description, source_locator,
  content_hash)
select ?, t.external_id, t.name, t.name_key, t.description, t.source_locator, t.content_hash
from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
  as t(external_id, name, name_key, description, source_locator, content_hash)
on conflict (directory_id, external_id) do update set
  name = excluded.name,
  name_key = excluded.name_key,
  description = excluded.description,
  source_locator = excluded.source_locator,
  content_hash = excluded.content_hash,
  version = g.version + 1,
  updated_at = now()
where g.content_hash is distinct from excluded.content_hash
returning g.id, g.external_id, g.name, g.description, g.source_locator, g.version,
  (g.xmax = 0) as inserted
),
seen as (insert into run_seen_groups (run_id, external_id) select ?, unnest(?::text[]))
-- The main query sees the table as it was before this statement: old values, for the events.
select up.id, up.external_id, up.name, up.version, up.inserted,
  array_remove(array[
    case when o.name is distinct from up.name then 'name' end,
    case when o.description is distinct from up.description then 'description' end,
    case when o.source_locator is distinct from up.source_locator then 'sourceLocator' end
  ], null) as changed
from up left join groups o on o.id = up.id`;

interface WrittenGroup {
  id: string;
  external_id: string;
  name: string;
  version: number;
  inserted: boolean;
  changed: string[];
}

/**
 * The groups of a `GroupBatch` identity can store (normalised; the same group twice: the later
 * observation) and the per-object errors of the others. `groups.length` is what the batch adds
 * to the run's `groupsSeen`.
 */
function readGroupBatch(observed: readonly ObservedGroup[]): {
  groups: NormalizedGroup[];
  errors: ObjectError[];
} {
  const errors: ObjectError[] = [];
  const byExt = new Map<string, NormalizedGroup>();
  for (const raw of observed) {
    const problem = unusableGroup(raw);
    const g = problem ? undefined : normalizeGroup(raw);
    if (!g) {
      const { code, message } = problem ?? {
        code: ErrorCode.INVALID_ATTRIBUTE,
        message: 'the group cannot be stored',
      };
      errors.push(
        objectError(code, message, storable(raw.externalId), storable(raw.sourceLocator)),
      );
      continue;
    }
    byExt.delete(g.externalId);
    byExt.set(g.externalId, g);
  }
  return { groups: [...byExt.values()], errors };
}

/**
 * What applying this `GroupBatch` adds to the run's `groupsSeen` (`applyGroupBatch` counts with
 * the same function; see `countSeenUsers`).
 */
export function countSeenGroups(observed: readonly ObservedGroup[]): number {
  // readGroupBatch keeps one group per distinct storedGroupId (normalizeGroup's externalId).
  const ids = new Set<string>();
  for (const raw of observed) {
    const id = storedGroupId(raw);
    if (id !== undefined) ids.add(id);
  }
  return ids.size;
}

/** Apply one `GroupBatch`: upsert what changed, stage what was observed, count. */
export async function applyGroupBatch(
  sql: Sql,
  run: RunState,
  observed: readonly ObservedGroup[],
): Promise<ObjectError[]> {
  const { groups, errors } = readGroupBatch(observed);
  const counts = run.counts;
  counts.groupsSeen += groups.length;
  counts.errors += errors.length;
  for (const e of errors) run.changes.push(errorChange(run, e, errorCodeName(e.code)));
  if (groups.length === 0) return errors;

  const written = await sql.rows<WrittenGroup>(APPLY_GROUPS, [
    run.directoryId,
    groups.map((g) => g.externalId),
    groups.map((g) => g.name),
    groups.map((g) => g.nameKey),
    groups.map((g) => g.description),
    groups.map((g) => g.sourceLocator),
    groups.map((g) => g.contentHash),
    run.runId,
    groups.map((g) => g.externalId),
  ]);
  for (const w of written) {
    if (w.inserted) counts.groupsCreated += 1;
    else counts.groupsUpdated += 1;
    const ref = {
      runId: run.runId,
      directoryId: run.directoryId,
      groupId: w.id,
      externalId: w.external_id,
      name: w.name,
    };
    run.changes.push(
      w.inserted
        ? { ...ref, kind: 'groupCreated' }
        : { ...ref, kind: 'groupUpdated', fields: w.changed as GroupField[] },
    );
  }
  const at = BigInt(Date.now());
  emitLifecycle(
    sql,
    written.map((w) =>
      groupEvent(
        w.inserted ? Transition.CREATED : Transition.UPDATED,
        { ...w, externalId: w.external_id, directoryId: run.directoryId },
        { runId: run.runId },
        w.inserted ? [] : w.changed,
        at,
      ),
    ),
  );
  return errors;
}

/**
 * Stage one `MembershipBatch`. Memberships are resolved when the run completes, so a batch may
 * name groups and users whose own batches come later. An external id with a NUL names no stored
 * record (those are refused), so its memberships are dropped here. A DELTA run's rows carry
 * their position (event `seq`, order in the message): there they are additions, ordered with
 * the run's membership deltas.
 */
export async function stageMemberships(
  sql: Sql,
  run: RunState,
  seq: number,
  groups: readonly GroupMembers[],
): Promise<void> {
  const groupIds: string[] = [];
  const userIds: string[] = [];
  for (const g of groups) {
    const gid = g.groupExternalId.trim();
    if (!gid || hasNul(gid)) continue;
    for (const u of g.userExternalIds) {
      const uid = u.trim();
      if (!uid || hasNul(uid)) continue;
      groupIds.push(gid);
      userIds.push(uid);
    }
  }
  if (groupIds.length === 0) return;
  if (run.mode === SyncMode.DELTA) {
    await sql.exec(
      `insert into run_memberships (run_id, group_external_id, user_external_id, seq, ord)
       select ?, t.g, t.u, ?, t.ord
       from unnest(?::text[], ?::text[]) with ordinality as t(g, u, ord)`,
      [run.runId, seq, groupIds, userIds],
    );
    return;
  }
  await sql.exec(
    `insert into run_memberships (run_id, group_external_id, user_external_id)
     select ?, t.g, t.u from unnest(?::text[], ?::text[]) as t(g, u)`,
    [run.runId, groupIds, userIds],
  );
}

/** A connector's per-object error with its text made storable (NUL → U+FFFD). */
export function storableError(e: ObjectError): ObjectError {
  return objectError(
    e.code,
    storable(e.message),
    storable(e.externalId),
    storable(e.sourceLocator),
  );
}

/**
 * Record the connector's per-object errors (already `storableError`). The objects they name were
 * seen in the source, so they protect their users from this run's sweep: a record we could not
 * read is not a record that is gone.
 */
export async function applyObjectErrors(
  sql: Sql,
  run: RunState,
  errors: readonly ObjectError[],
): Promise<void> {
  run.counts.errors += errors.length;
  for (const e of errors) run.changes.push(errorChange(run, e, errorCodeName(e.code)));
  const ids = [...new Set(errors.map((e) => e.externalId.trim()).filter((id) => id !== ''))];
  if (ids.length === 0) return;
  await sql.exec('insert into run_seen_users (run_id, external_id) select ?, unnest(?::text[])', [
    run.runId,
    ids,
  ]);
}

/** What a `delete from groups … returning` gives for the DELETED events. */
export const DELETED_GROUP_RETURNING = 'g.id, g.external_id, g.name, g.version';

/** Collects the rows of a CTE `removed` (returning DELETED_GROUP_RETURNING) as JSON. */
export const DELETED_GROUP_ROWS = `coalesce((select json_agg(r) from removed r), '[]'::json)`;

interface DeletedGroupRow {
  id: string;
  external_id: string;
  name: string;
  version: number;
}

/** DELETED events of groups a run (or a deleted directory) removed; version as after a bump. */
export function emitGroupsDeleted(
  sql: Sql,
  directoryId: string,
  runId: string,
  rows: readonly DeletedGroupRow[] | null | undefined,
): void {
  if (!rows || rows.length === 0) return;
  const at = BigInt(Date.now());
  emitLifecycle(
    sql,
    rows.map((g) =>
      groupEvent(
        Transition.DELETED,
        {
          id: g.id,
          directoryId,
          externalId: g.external_id,
          name: g.name,
          version: g.version + 1,
        },
        { runId },
        [],
        at,
      ),
    ),
  );
}
