import type { Sql } from '../db/sql.js';
import { isAdminChange, type Change } from './changes.js';

/**
 * Run history: the per-object changes of every run (changes.ts), stored in `run_changes` by
 * {@link recordChanges} in the transaction that made them, so the history has a row for a
 * change if and only if the change committed — and a dry run, whose changes are rolled back,
 * still has its planned changes here (they are its result).
 *
 * Rows go in with one `COPY … FROM STDIN` per transaction on the transaction's connection
 * (`Sql.copyFrom`), never one statement per change: a first import writes two rows per user
 * (created, membership), and COPY takes them at about twice the rate of an `insert … select
 * unnest(…)`, whose array parameters the driver has to quote element by element (measured in
 * the identity README, "Cost").
 */

/** The columns a change is stored under; the rest of it goes to `detail`. */
function columns(c: Change): {
  userId: string | null;
  groupId: string | null;
  adminId: string | null;
  externalId: string;
  /** The username; the group's name (group changes); the e-mail (administrator changes). */
  name: string;
  detail: Record<string, unknown>;
} {
  if (c.kind === 'groupCreated' || c.kind === 'groupUpdated' || c.kind === 'groupDeleted') {
    const { kind: _k, runId: _r, directoryId: _d, groupId, externalId, name, ...detail } = c;
    return { userId: null, groupId: groupId || null, adminId: null, externalId, name, detail };
  }
  if (c.kind === 'error' && (c.adminId || c.email)) {
    // An ADMIN run's error about an administrator: `admin` tells the reader that `name` is an
    // e-mail, also when no administrator has it.
    const { kind: _k, runId: _r, directoryId: _d, userId: _u, username: _n, ...rest } = c;
    const { adminId, externalId, email, ...detail } = rest;
    return {
      userId: null,
      groupId: null,
      adminId: adminId || null,
      externalId,
      name: email ?? '',
      detail: { ...detail, admin: true },
    };
  }
  if (isAdminChange(c)) {
    const { kind: _k, runId: _r, directoryId: _d, adminId, externalId, email, ...detail } = c;
    return {
      userId: null,
      groupId: null,
      adminId: adminId || null,
      externalId,
      name: email,
      detail,
    };
  }
  const { kind: _k, runId: _r, directoryId: _d, userId, externalId, username, ...detail } = c;
  return {
    userId: userId || null,
    groupId: null,
    adminId: null,
    externalId,
    name: username,
    detail,
  };
}

const COPY_RUN_CHANGES = `copy run_changes (run_id, directory_id, kind, user_id, group_id,
  admin_id, external_id, name, detail) from stdin`;

/** Rows per chunk handed to the COPY stream (keeps each string a few hundred kB at most). */
const ROWS_PER_CHUNK = 1_000;

/**
 * Store the changes of `run` not stored yet (from `run.changesRecorded` on), in the caller's
 * transaction. Called by `commitRun`, which every path that changes a run goes through, so no
 * producer can forget it. Rows keep the order of `run.changes` (their ids increase with it); an
 * empty external id or name is stored as null.
 */
export async function recordChanges(
  sql: Sql,
  run: { runId: string; directoryId: string; changes: Change[]; changesRecorded: number },
): Promise<void> {
  const fresh = run.changes.slice(run.changesRecorded);
  run.changesRecorded = run.changes.length;
  if (fresh.length === 0) return;
  const prefix = `${copyText(run.runId)}\t${copyText(run.directoryId)}\t`;
  const chunks: string[] = [];
  let chunk = '';
  for (let i = 0; i < fresh.length; i++) {
    const c = fresh[i]!;
    const col = columns(c);
    chunk +=
      prefix +
      c.kind +
      '\t' +
      copyText(col.userId) +
      '\t' +
      copyText(col.groupId) +
      '\t' +
      copyText(col.adminId) +
      '\t' +
      copyText(col.externalId || null) +
      '\t' +
      copyText(col.name || null) +
      '\t' +
      copyText(JSON.stringify(col.detail)) +
      '\n';
    if ((i + 1) % ROWS_PER_CHUNK === 0) {
      chunks.push(chunk);
      chunk = '';
    }
  }
  if (chunk) chunks.push(chunk);
  const copied = await sql.copyFrom(COPY_RUN_CHANGES, chunks);
  if (copied !== fresh.length) {
    throw new Error(`run history: copied ${copied} of ${fresh.length} changes`);
  }
}

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIAL_ALL = /[\\\t\n\r]/g;
const COPY_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
};

/**
 * A value as a field of COPY's text format: null is `\N`; backslash, tab, newline and carriage
 * return are escaped (a JSON text has backslashes whenever a string in it has a quote).
 */
export function copyText(value: string | null): string {
  if (value === null) return '\\N';
  return COPY_SPECIAL.test(value)
    ? value.replace(COPY_SPECIAL_ALL, (ch) => COPY_ESCAPES[ch] ?? ch)
    : value;
}

/**
 * The retention job: delete the history older than `before`, at most `limit` rows per call
 * (the caller repeats while it returns `limit`), so a big backlog never holds one long lock.
 */
export async function expireHistory(sql: Sql, before: Date, limit = 50_000): Promise<number> {
  return sql.exec(
    `delete from run_changes where id in (
       select id from run_changes where at < ? order by id limit ?)`,
    [before, limit],
  );
}
