import { createHash } from 'node:crypto';
import {
  adminRoleName,
  adminRoleRank,
  adminRoleFromName,
  emailKey,
  emailProblem,
  type AdminRoleName,
} from '@dirsync/kit';
import {
  ErrorCode,
  Transition,
  UserOutcome,
  errorCodeName,
  type ObjectError,
  type ObservedAdmin,
} from '@dirsync/proto';
import { toInt, type Sql } from '../db/sql.js';
import {
  adminEvent,
  emitLifecycle,
  syncTransition,
  type LifecycleCause,
} from '../lifecycle/lifecycle.outbox.js';
import { adminStatusName, diffAdminFields, errorChange, type AdminFieldValues } from './changes.js';
import { hasNul, storable } from './normalize.js';
import { adminsExceed } from './safety.js';
import { objectError, type RunState } from './run.repository.js';

/**
 * Admin sync's apply path. An ADMIN run observes administrators (`AdminBatch`); at completion a
 * full admin run (no e-mail) moves the directory's administrators it did not observe to pending
 * deletion, and a run for one e-mail only that administrator. ADMIN runs never touch users or
 * groups. An administrator is its e-mail (`email_key`, unique across dirsync):
 *
 * - an e-mail nobody has → a new synced administrator of the run's directory;
 * - a manual administrator's e-mail → the sync claims it (same id, now synced and read-only);
 * - an administrator of the same directory → updated when anything changed, restored when it
 *   was pending deletion;
 * - an administrator synced from another directory → `ADMIN_CONFLICT` for that record, which
 *   changes nothing.
 *
 * The connector kit merges a run's records by e-mail with the highest role; should one e-mail
 * still come twice in a run (a connector that does not use the kit), the roles are merged here
 * too, so the highest role wins whatever the batching.
 */

interface NormalizedAdmin {
  externalId: string;
  email: string;
  emailKey: string;
  roles: AdminRoleName[];
  firstName: string | null;
  lastName: string | null;
  displayName: string | null;
  disabled: boolean;
  sourceLocator: string | null;
}

interface ExistingAdmin {
  id: string;
  email_key: string;
  directory_id: string | null;
  status: 'active' | 'disabled' | 'pending_deletion';
  previous_status: 'active' | 'disabled' | null;
  roles: AdminRoleName[];
  content_hash: string | null;
  // The field values before the write, for the run history's old → new (changes.ts).
  email: string;
  role: AdminRoleName;
  first_name: string | null;
  last_name: string | null;
  display_name: string | null;
  external_id: string | null;
  source_locator: string | null;
  /** Observed earlier in this same run. */
  seen: boolean;
}

const text = (v: string): string | null => {
  const t = storable(v).normalize('NFC').trim();
  return t === '' ? null : t;
};

/** Roles without duplicates, most privileged first. */
function ordered(roles: Iterable<AdminRoleName>): AdminRoleName[] {
  return [...new Set(roles)].sort(
    (a, b) => adminRoleRank(adminRoleFromName(a)) - adminRoleRank(adminRoleFromName(b)),
  );
}

/**
 * The administrator each observed key is: the one holding the key, else one kept with the key
 * (an e-mail that full case folding made another's: key, U+0001, id — see
 * Migration20261204103000_casefold_admin_emails) — of the run's directory, then a manual one,
 * then one of another directory (ADMIN_CONFLICT) — which takes the key back when written.
 */
function existingByKey(rows: readonly ExistingAdmin[], directoryId: string) {
  const rank = (e: ExistingAdmin) =>
    !e.email_key.includes('\u0001')
      ? 0
      : e.directory_id === directoryId
        ? 1
        : e.directory_id === null
          ? 2
          : 3;
  const byKey = new Map<string, ExistingAdmin>();
  for (const e of [...rows].sort((a, b) => rank(a) - rank(b))) {
    const key = e.email_key.split('\u0001')[0]!;
    if (!byKey.has(key)) byKey.set(key, e);
  }
  return byKey;
}

/** Why an observed admin cannot be stored, or its normalised form. */
function normalize(
  raw: ObservedAdmin,
): NormalizedAdmin | { code: ErrorCode; message: string; email?: string } {
  const who = raw.sourceLocator || raw.externalId || 'an administrator';
  const problem = hasNul(raw.email) ? 'contains U+0000' : emailProblem(raw.email);
  if (problem) {
    return {
      code: ErrorCode.MISSING_EMAIL,
      message: `${storable(who)}: the e-mail "${storable(raw.email)}" ${problem}; administrators are matched by e-mail, so it is not an administrator`,
    };
  }
  const roles = ordered(
    [raw.role, ...raw.roles].map(adminRoleName).filter((r): r is AdminRoleName => !!r),
  );
  if (roles.length === 0) {
    return {
      code: ErrorCode.INVALID_ATTRIBUTE,
      message: `${storable(who)}: no valid admin role; not an administrator`,
      email: raw.email.trim().normalize('NFC'),
    };
  }
  const email = raw.email.trim().normalize('NFC');
  return {
    externalId: text(raw.externalId) ?? '',
    email,
    emailKey: emailKey(email),
    roles,
    firstName: text(raw.firstName),
    lastName: text(raw.lastName),
    displayName: text(raw.displayName),
    disabled: raw.disabled,
    sourceLocator: text(raw.sourceLocator),
  };
}

function contentHash(a: NormalizedAdmin): string {
  // Positional: a field added later changes every hash once, never collides.
  return createHash('sha256')
    .update(
      JSON.stringify([
        1,
        a.email,
        a.roles,
        a.firstName,
        a.lastName,
        a.displayName,
        a.disabled,
        a.externalId,
        a.sourceLocator,
      ]),
    )
    .digest('base64url');
}

/** What a write of `admins` returns: enough for the lifecycle event. */
export const ADMIN_RETURNING = `a.id, a.email_key, a.email, a.display_name, a.role, a.status,
  a.previous_status, a.directory_id, a.external_id, a.purge_after, a.version`;

export interface Written {
  id: string;
  email_key: string;
  email: string;
  display_name: string | null;
  role: AdminRoleName;
  status: string;
  previous_status: string | null;
  directory_id: string | null;
  external_id: string | null;
  purge_after: string | Date | null;
  version: number;
}

function adminFacts(
  w: Written,
  status = w.status,
  previousStatus = w.previous_status,
  version = w.version,
) {
  return {
    id: w.id,
    directoryId: w.directory_id,
    externalId: w.external_id,
    email: w.email,
    displayName: w.display_name,
    role: adminRoleFromName(w.role),
    status,
    previousStatus,
    purgeAfter: w.purge_after,
    version,
  };
}

/**
 * Lifecycle events of written administrators (`before`: the status before, undefined for a new
 * one); each write bumped the version. A manual administrator claimed by a sync is UPDATED.
 */
export function emitAdminWrites(
  sql: Sql,
  runId: string,
  written: readonly { row: Written; before: string | undefined; changed?: readonly string[] }[],
  actor = '',
): void {
  if (written.length === 0) return;
  const at = BigInt(Date.now());
  emitLifecycle(
    sql,
    written.map(({ row, before, changed }) =>
      adminEvent(
        syncTransition(before, row.status),
        adminFacts(row, row.status, before ?? null),
        { runId, actor },
        changed ?? (before !== undefined && before !== row.status ? ['status'] : []),
        at,
      ),
    ),
  );
}

/** PENDING_DELETION or PURGED events of administrators (rows as they are after the write). */
export function emitAdminsGone(
  sql: Sql,
  transition: Transition,
  rows: readonly Written[],
  cause: LifecycleCause,
): void {
  if (rows.length === 0) return;
  const at = BigInt(Date.now());
  emitLifecycle(
    sql,
    rows.map((w) =>
      transition === Transition.PURGED
        ? adminEvent(transition, adminFacts(w, 'purged', w.status, w.version + 1), cause, [], at)
        : adminEvent(transition, adminFacts(w), cause, ['status'], at),
    ),
  );
}

/**
 * Apply one `AdminBatch` of an ADMIN run: write what changed, stage what was observed, count.
 * A run for one e-mail only looks at that e-mail (anything else would be a connector's bug).
 */
export async function applyAdminBatch(
  sql: Sql,
  run: RunState,
  observed: readonly ObservedAdmin[],
): Promise<ObjectError[]> {
  const errors: ObjectError[] = [];
  const wanted = run.username ? emailKey(run.username) : undefined;
  const byKey = new Map<string, NormalizedAdmin>();
  for (const raw of observed) {
    const a = normalize(raw);
    if ('code' in a) {
      const e = objectError(
        a.code,
        a.message,
        storable(raw.externalId),
        storable(raw.sourceLocator),
      );
      errors.push(e);
      run.changes.push(errorChange(run, e, errorCodeName(e.code), { email: a.email }));
      continue;
    }
    if (wanted !== undefined && a.emailKey !== wanted) continue;
    const prev = byKey.get(a.emailKey);
    if (!prev) byKey.set(a.emailKey, a);
    else {
      // The record with the higher role speaks for the person; the roles are merged.
      const first =
        adminRoleRank(adminRoleFromName(a.roles[0]!)) <
        adminRoleRank(adminRoleFromName(prev.roles[0]!))
          ? a
          : prev;
      byKey.set(a.emailKey, { ...first, roles: ordered([...prev.roles, ...a.roles]) });
    }
  }
  const counts = run.counts;
  counts.errors += errors.length;
  const admins = [...byKey.values()];
  counts.adminsSeen += admins.length;
  if (admins.length === 0) {
    if (wanted !== undefined && errors.length > 0) run.userOutcome = UserOutcome.ERROR;
    return errors;
  }

  const existing = await sql.rows<ExistingAdmin>(
    `select a.id, a.email_key, a.directory_id, a.status, a.previous_status, a.roles,
       a.content_hash, a.email, a.role, a.first_name, a.last_name, a.display_name,
       a.external_id, a.source_locator,
       exists (select 1 from run_seen_admins s where s.run_id = ? and s.email_key = a.email_key)
         as seen
     from admins a where a.email_key = any(?::text[])
       or (strpos(a.email_key, chr(1)) > 0 and split_part(a.email_key, chr(1), 1) = any(?::text[]))
     for update`,
    [run.runId, admins.map((a) => a.emailKey), admins.map((a) => a.emailKey)],
  );
  const byExisting = existingByKey(existing, run.directoryId);

  const inserts: NormalizedAdmin[] = [];
  const updates: { admin: NormalizedAdmin; before: ExistingAdmin }[] = [];
  const unchanged: ExistingAdmin[] = [];
  const outcome = new Map<string, UserOutcome>();
  for (const a of admins) {
    const before = byExisting.get(a.emailKey);
    if (!before) {
      inserts.push(a);
      outcome.set(a.emailKey, UserOutcome.CREATED);
      continue;
    }
    if (before.directory_id !== null && before.directory_id !== run.directoryId) {
      const e = objectError(
        ErrorCode.ADMIN_CONFLICT,
        `${a.email} is an administrator synced from another directory (${before.directory_id}); it is not taken over`,
        a.externalId,
        a.sourceLocator ?? '',
      );
      errors.push(e);
      run.changes.push(
        errorChange(run, e, errorCodeName(e.code), { adminId: before.id, email: a.email }),
      );
      counts.errors += 1;
      outcome.set(a.emailKey, UserOutcome.ERROR);
      continue;
    }
    // Seen earlier in this run: the roles add up (the highest wins).
    if (before.seen) a.roles = ordered([...before.roles, ...a.roles]);
    const changed =
      before.directory_id === null ||
      before.status === 'pending_deletion' ||
      before.content_hash !== contentHash(a);
    if (changed) {
      updates.push({ admin: a, before });
      outcome.set(
        a.emailKey,
        before.status === 'pending_deletion' ? UserOutcome.RESTORED : UserOutcome.UPDATED,
      );
    } else {
      unchanged.push(before);
      outcome.set(a.emailKey, UserOutcome.UNCHANGED);
    }
  }

  const row = (a: NormalizedAdmin, id?: string) => ({
    id: id ?? null,
    email: a.email,
    email_key: a.emailKey,
    role: a.roles[0],
    roles: a.roles,
    first_name: a.firstName,
    last_name: a.lastName,
    display_name: a.displayName,
    status: a.disabled ? 'disabled' : 'active',
    external_id: a.externalId,
    source_locator: a.sourceLocator,
    content_hash: contentHash(a),
  });
  const recordset = `jsonb_to_recordset(?::jsonb) as x(id uuid, email text, email_key text,
    role text, roles jsonb, first_name text, last_name text, display_name text, status text,
    external_id text, source_locator text, content_hash text)`;
  const written: Written[] = [];
  if (inserts.length > 0) {
    written.push(
      ...(await sql.rows<Written>(
        `insert into admins as a (email, email_key, role, roles, first_name, last_name, display_name,
           status, directory_id, external_id, source_locator, content_hash, synced_at)
         select x.email, x.email_key, x.role,
           array(select jsonb_array_elements_text(x.roles)), x.first_name, x.last_name,
           x.display_name, x.status, ?, x.external_id, x.source_locator, x.content_hash, now()
         from ${recordset}
         returning ${ADMIN_RETURNING}`,
        [run.directoryId, JSON.stringify(inserts.map((a) => row(a)))],
      )),
    );
  }
  if (updates.length > 0) {
    written.push(
      ...(await sql.rows<Written>(
        `update admins a set email = x.email, role = x.role,
           roles = array(select jsonb_array_elements_text(x.roles)), first_name = x.first_name,
           last_name = x.last_name, display_name = x.display_name, status = x.status,
           previous_status = null, pending_deletion_at = null, purge_after = null,
           directory_id = ?, external_id = x.external_id, source_locator = x.source_locator,
           email_key = x.email_key,
           content_hash = x.content_hash, version = a.version + 1, updated_at = now(),
           synced_at = now()
         from ${recordset}
         where a.id = x.id
         returning ${ADMIN_RETURNING}`,
        [run.directoryId, JSON.stringify(updates.map((u) => row(u.admin, u.before.id)))],
      )),
    );
  }
  if (unchanged.length > 0) {
    await sql.exec('update admins set synced_at = now() where id = any(?::uuid[])', [
      unchanged.map((u) => u.id),
    ]);
  }
  await sql.exec('insert into run_seen_admins (run_id, email_key) select ?, unnest(?::text[])', [
    run.runId,
    admins.map((a) => a.emailKey),
  ]);

  const beforeOf = new Map(updates.map((u) => [u.before.id, u.before.status as string]));
  emitAdminWrites(
    sql,
    run.runId,
    written.map((row) => ({ row, before: beforeOf.get(row.id) })),
  );

  // Counters and run history together, per written row (changes.ts rule 3).
  const insertOf = new Map(inserts.map((a) => [a.emailKey, a]));
  const updateOf = new Map(updates.map((u) => [u.before.id, u]));
  for (const w of written) {
    const u = updateOf.get(w.id);
    const a = u?.admin ?? insertOf.get(w.email_key);
    if (!a) continue; // every written row is one of them (same statements)
    adminChanges(run, a, w, u?.before);
  }
  counts.adminsUnchanged += unchanged.length;

  if (wanted !== undefined) {
    const result = outcome.get(wanted);
    if (result !== undefined) {
      run.userOutcome = result;
      run.userId =
        written.find((w) => w.email_key === wanted)?.id ??
        (result === UserOutcome.ERROR ? null : (byExisting.get(wanted)?.id ?? null));
    }
  }
  return errors;
}

/** An administrator's synced fields as GraphQL shows them (changes.ts, rule 5). */
function adminValues(
  a: Pick<
    NormalizedAdmin,
    'email' | 'displayName' | 'firstName' | 'lastName' | 'roles' | 'sourceLocator'
  > & { externalId: string | null },
  status: string,
): AdminFieldValues {
  return {
    externalId: a.externalId,
    email: a.email,
    displayName: a.displayName,
    firstName: a.firstName,
    lastName: a.lastName,
    role: a.roles[0]!,
    roles: a.roles,
    status: adminStatusName(status),
    sourceLocator: a.sourceLocator,
  };
}

/**
 * The run-history changes of one written administrator, each with the counter it moves (rule
 * 3), in the order of rule 4: adminCreated | adminUpdated | adminRestored, then
 * adminRoleChanged, then adminClaimed, then adminDisabled | adminEnabled.
 */
function adminChanges(
  run: RunState,
  a: NormalizedAdmin,
  w: Written,
  before: ExistingAdmin | undefined,
): void {
  const ref = {
    runId: run.runId,
    directoryId: run.directoryId,
    adminId: w.id,
    externalId: a.externalId,
    email: a.email,
  };
  const now = adminValues(a, w.status);
  const changes = run.changes;
  const counts = run.counts;
  if (!before) {
    changes.push({ ...ref, kind: 'adminCreated', values: now });
    counts.adminsCreated += 1;
  } else {
    const old = adminValues(
      {
        externalId: before.external_id,
        email: before.email,
        displayName: before.display_name,
        firstName: before.first_name,
        lastName: before.last_name,
        // The roles stored before this write (seen earlier in the run: those of that batch).
        roles: before.roles.length > 0 ? before.roles : [before.role],
        sourceLocator: before.source_locator,
      },
      before.status,
    );
    if (before.status === 'pending_deletion') {
      // The status is the restore itself; the fields are what else changed while away.
      const fields = diffAdminFields({ ...old, status: now.status }, now);
      changes.push({ ...ref, kind: 'adminRestored', status: now.status, fields });
      counts.adminsRestored += 1;
    } else {
      changes.push({ ...ref, kind: 'adminUpdated', fields: diffAdminFields(old, now) });
      counts.adminsUpdated += 1;
    }
    if (old.role !== now.role) {
      changes.push({ ...ref, kind: 'adminRoleChanged', previousRole: old.role, role: now.role });
    }
    if (before.directory_id === null) changes.push({ ...ref, kind: 'adminClaimed' });
  }
  if (w.status === 'disabled' && before?.status !== 'disabled') {
    const previous =
      before?.status === 'pending_deletion' ? before.previous_status : (before?.status ?? null);
    changes.push({
      ...ref,
      kind: 'adminDisabled',
      previousStatus: previous ? adminStatusName(previous) : null,
    });
    counts.adminsDisabled += 1;
  } else if (before?.status === 'disabled' && w.status !== 'disabled') {
    changes.push({ ...ref, kind: 'adminEnabled', status: adminStatusName(w.status) });
  }
}

/**
 * Administrators a run moved to pending deletion (rows as they are after the write, from
 * {@link PENDING_DELETION_SET}): the counter, the run history and the PENDING_DELETION events
 * together, so no path that removes administrators for a run can miss one of them.
 */
export function adminsRemoved(sql: Sql, run: RunState, rows: readonly Written[]): void {
  run.counts.adminsPendingDeletion += rows.length;
  for (const w of rows) {
    run.changes.push({
      kind: 'adminPendingDeletion',
      runId: run.runId,
      directoryId: run.directoryId,
      adminId: w.id,
      externalId: w.external_id ?? '',
      email: w.email,
      reason: 'not_observed',
      previousStatus: adminStatusName(w.previous_status ?? 'active'),
      purgeAfter: new Date(w.purge_after ?? Date.now()).toISOString(),
    });
  }
  emitAdminsGone(sql, Transition.PENDING_DELETION, rows, { runId: run.runId });
}

export const PENDING_DELETION_SET = `
  previous_status = a.status,
  status = 'pending_deletion',
  pending_deletion_at = now(),
  purge_after = now() + make_interval(days => ?),
  version = a.version + 1,
  updated_at = now()`;

/**
 * Which administrators a completed ADMIN run removes (as `removal.ts` plans users):
 *
 * - `unobserved` (a full admin run): the directory's administrators the run did not observe;
 * - `one` (a run for one e-mail that did not observe it): that administrator;
 * - `held` (approveRun of a BLOCKED admin run, `safety.ts`): the administrators the run held
 *   back, minus those an open run of the directory has observed since (a completed later run
 *   already took the ones it observed out of the plan).
 *
 * Administrators already pending deletion are never planned again (their window keeps running).
 */
export type AdminRemovalPlan =
  | { kind: 'unobserved' }
  | { kind: 'one'; adminId: string }
  | { kind: 'held' };

/** The planned removals as one `select id`. */
function plannedAdmins(run: RunState, plan: AdminRemovalPlan): { sql: string; params: unknown[] } {
  switch (plan.kind) {
    case 'unobserved':
      return {
        sql: `select a.id from admins a
              where a.directory_id = ? and a.status <> 'pending_deletion'
                and not exists (select 1 from run_seen_admins s
                                where s.run_id = ? and s.email_key = a.email_key)
                -- Kept with a key another directory's administrator holds (U+0001): the run
                -- observed its address, so it is in the source; a conflict never removes anyone
                -- (nor counts towards, nor is held by, the deletion threshold).
                and not (strpos(a.email_key, chr(1)) > 0 and exists (
                  select 1 from run_seen_admins s join admins o on o.email_key = s.email_key
                  where s.run_id = ? and s.email_key = split_part(a.email_key, chr(1), 1)
                    and o.directory_id is distinct from a.directory_id))`,
        params: [run.directoryId, run.runId, run.runId],
      };
    case 'one':
      return {
        sql: `select a.id from admins a
              where a.id = ? and a.directory_id = ? and a.status <> 'pending_deletion'`,
        params: [plan.adminId, run.directoryId],
      };
    case 'held':
      return {
        sql: `select a.id from run_held_admins h join admins a on a.id = h.admin_id
              where h.run_id = ? and a.directory_id = ? and a.status <> 'pending_deletion'
                and not exists (select 1 from run_seen_admins s join runs r on r.run_id = s.run_id
                                where r.directory_id = ? and r.status = 'RUNNING'
                                  and s.email_key = a.email_key)`,
        params: [run.runId, run.directoryId, run.directoryId],
      };
  }
}

/**
 * THE removal path of administrators: the planned ones move to pending deletion with the run's
 * restore window, in the transaction that completes (or approves) the run; counts, run history
 * and PENDING_DELETION events follow ({@link adminsRemoved}). Returns how many.
 */
export async function removeAdmins(
  sql: Sql,
  run: RunState,
  plan: AdminRemovalPlan,
): Promise<number> {
  const p = plannedAdmins(run, plan);
  const removed = await sql.rows<Written>(
    `update admins a set ${PENDING_DELETION_SET}
     where a.id in (${p.sql})
     returning ${ADMIN_RETURNING}`,
    [run.restoreWindowDays, ...p.params],
  );
  adminsRemoved(sql, run, removed);
  return removed.length;
}

/**
 * Complete an ADMIN run. Full (no e-mail): the directory's administrators the run did not
 * observe — out of every role group, or gone from the source — move to pending deletion with
 * the directory's restore window, unless they exceed the directory's deletion threshold
 * (`adminsExceed`): then nobody is removed, the exact plan is held (`run_held_admins`) and the
 * run is left BLOCKED for the caller to finish. One e-mail: when the run did not observe it,
 * that administrator of this directory moves to pending deletion (never measured: one person,
 * asked for by name); an e-mail that is no administrator of this directory is NOT_FOUND and
 * nothing changes.
 */
export async function completeAdmins(sql: Sql, run: RunState): Promise<void> {
  if (!run.username) {
    if (run.threshold && (await holdAdminsOverThreshold(sql, run))) return;
    // The same plan the threshold measured and would have held.
    await removeAdmins(sql, run, { kind: 'unobserved' });
    return;
  }
  if (run.userOutcome !== UserOutcome.UNSPECIFIED) return; // observed (or refused) in a batch
  const [known] = await sql.rows<{ id: string; status: string }>(
    'select id, status from admins where email_key = ? and directory_id = ? for update',
    [emailKey(run.username), run.directoryId],
  );
  if (!known) {
    run.userOutcome = UserOutcome.NOT_FOUND;
    run.userId = null;
    return;
  }
  await removeAdmins(sql, run, { kind: 'one', adminId: known.id });
  run.userOutcome = UserOutcome.PENDING_DELETION;
  run.userId = known.id;
}

/**
 * Measure a full admin run's removals; over the threshold, hold exactly the administrators it
 * would remove, set the run's plan and BLOCKED, and answer true.
 */
async function holdAdminsOverThreshold(sql: Sql, run: RunState): Promise<boolean> {
  const p = plannedAdmins(run, { kind: 'unobserved' });
  const [m] = await sql.rows<{ planned: string; base: string }>(
    `select (select count(*) from (${p.sql}) p) as planned,
            (select count(*) from admins where directory_id = ? and status <> 'pending_deletion')
              as base`,
    [...p.params, run.directoryId],
  );
  const planned = toInt(m?.planned);
  const base = toInt(m?.base);
  const reason = adminsExceed(run.threshold, planned, base);
  if (!reason) return false;
  await sql.exec(
    `insert into run_held_admins (run_id, admin_id) select ?, p.id from (${p.sql}) p
     on conflict do nothing`,
    [run.runId, ...p.params],
  );
  run.removals = {
    users: 0,
    memberships: 0,
    groups: 0,
    baseUsers: 0,
    baseMemberships: 0,
    admins: planned,
    baseAdmins: base,
    reason,
  };
  run.status = 'BLOCKED';
  return true;
}

/**
 * Delete administrators whose restore window has passed by `at` (default now; PURGED events);
 * returns how many.
 */
export async function purgeExpiredAdmins(sql: Sql, at: Date = new Date()): Promise<number> {
  const purged = await sql.rows<Written>(
    `delete from admins a where a.status = 'pending_deletion' and a.purge_after <= ?::timestamptz
     returning ${ADMIN_RETURNING}`,
    [at.toISOString()],
  );
  emitAdminsGone(sql, Transition.PURGED, purged, {});
  return purged.length;
}
