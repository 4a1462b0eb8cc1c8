import { useEffect, useRef, type ReactNode } from 'react';
import { useMutation, useQuery } from '@apollo/client/react';
import {
  ADMINS,
  APPROVE_RUN,
  PREVIOUS_RUN,
  REJECT_RUN,
  RUN,
  CHANGE_KINDS,
  CHANGE_ONLY_KINDS,
  PROBLEM_KINDS,
  RUN_CHANGE_KINDS,
  RUN_CHANGES,
  USERS,
} from '../graphql/operations.js';
import { ChangesTable } from '../ui/changes.js';
import type { RunCounts, RunDetail } from '../graphql/types.js';
import { duration, number, plural, words } from '../lib/format.js';
import { useCursorPager } from '../lib/paging.js';
import { Link, setQuery, useLocation } from '../lib/router.js';
import { Permission, useCan } from '../lib/viewer.js';
import { Badge, Dl, Empty, ErrorBox, Loading, PageHeader, Pager, Time } from '../ui/components.js';
import { ACTIVE } from '../ui/run-bits.js';

/**
 * One run, live: while it is queued or running the page polls `run(id)` every second and shows
 * the counts identity has committed so far, with progress against the directory's last
 * completed run of the same mode (how many it saw); then the final counts and the errors.
 */
export function RunPage({ id }: { id: string }) {
  const errorsPager = useCursorPager(id);
  const { data, error, loading, startPolling, stopPolling, refetch } = useQuery(RUN, {
    variables: { id, errorsAfter: errorsPager.after },
  });
  const run = data?.run;
  const active = run ? ACTIVE.includes(run.status) : false;
  const wasActive = useRef(false);
  useEffect(() => {
    if (active) startPolling(1_000);
    else stopPolling();
    // The status can reach the cache through another query (a run list) before this one polls
    // again: once the run has ended, read it whole once more (its removals, its last errors).
    if (wasActive.current && !active) void refetch();
    wasActive.current = active;
    return () => stopPolling();
  }, [active, startPolling, stopPolling, refetch]);

  if (loading && !data) return <Loading />;
  if (error && !run) return <ErrorBox error={error} />;
  if (!run) return <Empty>No run {id}.</Empty>;
  return (
    <section data-run-status={run.status}>
      <PageHeader
        title={
          <>
            {run.dryRun ? 'Dry run' : 'Run'} <code>{run.id.slice(0, 8)}</code>{' '}
            <Badge value={run.status} />
          </>
        }
      />
      <p>
        <Link to={`/directories/${run.directory.id}`}>{run.directory.name}</Link> ·{' '}
        {words(run.mode)}
        {run.readMode && run.readMode !== run.mode ? ` (read ${words(run.readMode)})` : ''}
        {run.fullReadReason ? ` — ${words(run.fullReadReason)}` : ''}
        {run.username ? ` · user ${run.username}` : ''}
        {run.email ? ` · ${run.email}` : ''} · {run.trigger === 'SCHEDULE' ? 'scheduled' : 'manual'}
      </p>
      {run.dryRun ? (
        <p className="notice" data-testid="dry-run">
          {active
            ? 'A dry run: until its plan is done the counts below are what it has read so far (users and groups seen); the planned counts and changes follow. '
            : 'A dry run: the counts and changes below are what a real run would do; '}
          no user, group or membership {active ? 'is' : 'was'} changed and the delta cursor{' '}
          {active ? 'does' : 'did'} not move.
        </p>
      ) : null}
      {active ? <Progress run={run} /> : null}
      {run.removals ? <Removals run={run} /> : null}
      {run.errorCode ? (
        <div className="error-box" role="alert">
          <code>{run.errorCode}</code> {run.errorMessage}
        </div>
      ) : null}
      <div className="columns">
        <div className="card">
          <h2>Counts</h2>
          <CountsTable counts={run.counts} mode={run.mode} />
        </div>
        <div className="card">
          <h2>Timing</h2>
          <Dl
            items={[
              ['Queued', <Time iso={run.queuedAt} />],
              ['Started', <Time iso={run.startedAt} />],
              ['Finished', <Time iso={run.finishedAt} />],
              ['Duration', active ? 'running…' : duration(run.durationMs)],
              ['Entries read', number(run.counts.entriesRead)],
            ]}
          />
        </div>
      </div>
      <RunChanges runId={run.id} active={active} />
      <div className="card">
        {/* The list holds the errors and the username conflicts, which the counts keep apart. */}
        <h2>
          Per-object errors{run.counts.conflicts > 0 ? ' and conflicts' : ''}{' '}
          <span className="muted" data-testid="errors-total">
            ({number(run.errors.totalCount)})
          </span>
        </h2>
        <p className="hint">
          Records that could not be (fully) imported; the run went on without them.
          {run.counts.conflicts > 0
            ? ` ${plural(run.counts.errors, 'error')} and ${plural(run.counts.conflicts, 'username conflict')} (another directory's user holds the username).`
            : ''}
        </p>
        {run.errors.nodes.length === 0 ? <Empty>None.</Empty> : null}
        {run.errors.nodes.length ? (
          <table className="table errors">
            <thead>
              <tr>
                <th>Code</th>
                <th>Object</th>
                <th>Message</th>
              </tr>
            </thead>
            <tbody>
              {run.errors.nodes.map((e, i) => (
                <tr key={`${e.externalId}-${i}`}>
                  <td>
                    <code>{e.code}</code>
                  </td>
                  <td className="mono small">{e.sourceLocator || e.externalId}</td>
                  <td>{e.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        {errorsPager.page > 0 || run.errors.pageInfo.hasNextPage ? (
          <Pager
            page={errorsPager.page}
            hasNext={run.errors.pageInfo.hasNextPage}
            onNext={() => errorsPager.next(run.errors.pageInfo.endCursor)}
            onPrevious={errorsPager.previous}
            onFirst={errorsPager.first}
          />
        ) : null}
      </div>
    </section>
  );
}

/**
 * A run the deletion threshold stopped: everything but the removals was applied. Approve
 * removes exactly the held-back users, memberships and groups; reject discards them. After a
 * decision (or a later full run superseding it) the plan stays shown with who decided.
 */
function Removals({ run }: { run: RunDetail }) {
  const canDecide = useCan(Permission.RUN_APPROVE);
  // A decision changes the run, its changes (approving records the removals) and who is held
  // (nobody any more): read them again, or the page shows the plan as if still waiting.
  const refetchQueries = [
    'Run',
    'RunChanges',
    'Users',
    'Admins',
    'Runs',
    'BlockedRuns',
    'Directories',
    'DirectoryCounts',
  ];
  const [approve, approving] = useMutation(APPROVE_RUN, {
    refetchQueries,
    awaitRefetchQueries: true,
  });
  const [reject, rejecting] = useMutation(REJECT_RUN, {
    refetchQueries,
    awaitRefetchQueries: true,
  });
  const r = run.removals!;
  const pct = (n: number, of: number) => (of ? ` (${Math.round((n / of) * 1000) / 10} %)` : '');
  const blocked = run.status === 'BLOCKED';
  const busy = approving.loading || rejecting.loading;
  // Who exactly approving would move to pending deletion (the first page of the held users).
  const HELD_SHOWN = 20;
  const held = useQuery(USERS, {
    variables: { filter: { heldByRunId: run.id }, first: HELD_SHOWN },
    skip: !blocked || r.users === 0,
  });
  const heldUsers = blocked ? (held.data?.users.nodes ?? []) : [];
  // An ADMIN run holds administrators back instead (and never users).
  const admin = run.mode === 'ADMIN';
  const heldAdminsQuery = useQuery(ADMINS, {
    variables: { filter: { heldByRunId: run.id }, first: HELD_SHOWN },
    skip: !blocked || !admin || r.admins === 0,
  });
  const heldAdmins = blocked ? (heldAdminsQuery.data?.admins.nodes ?? []) : [];
  return (
    <div className={`card removals${blocked ? ' blocked' : ''}`} data-testid="removals">
      <h2>
        {blocked
          ? 'Removals held back — waiting for a decision'
          : run.dryRun
            ? 'A real run would be blocked'
            : 'Removals the deletion threshold held back'}
      </h2>
      {/* A dry run held nothing back: the plan is what a real run would hold. */}
      <p>{r.reason}</p>
      <Dl
        items={[
          ...((admin
            ? [
                [
                  'Administrators to pending deletion',
                  `${number(r.admins)} of ${number(r.baseAdmins)}${pct(r.admins, r.baseAdmins)}`,
                ],
              ]
            : [
                [
                  'Users to pending deletion',
                  `${number(r.users)} of ${number(r.baseUsers)}${pct(r.users, r.baseUsers)}`,
                ],
                [
                  'Memberships to remove',
                  `${number(r.memberships)} of ${number(r.baseMemberships)}${pct(r.memberships, r.baseMemberships)}`,
                ],
                ['Groups to remove', number(r.groups)],
              ]) as [string, ReactNode][]),
          [
            'Threshold',
            `${r.threshold.maxCount ? plural(r.threshold.maxCount, admin ? 'administrator' : 'user') : 'no count limit'}, ${
              r.threshold.maxPercent ? `${r.threshold.maxPercent} %` : 'no percentage limit'
            }`,
          ],
          ...(run.decision
            ? ([
                ['Decision', <Badge value={run.decision} />],
                ['Decided by', run.decidedBy],
                ['Decided', <Time iso={run.decidedAt} />],
              ] as [string, ReactNode][])
            : []),
          ...(run.supersededBy
            ? ([
                [
                  'Superseded by',
                  <Link to={`/runs/${run.supersededBy.id}`}>
                    run {run.supersededBy.id.slice(0, 8)}
                  </Link>,
                ],
              ] as [string, ReactNode][])
            : []),
        ]}
      />
      {heldUsers.length > 0 ? (
        <p data-testid="held-users">
          Would go to pending deletion:{' '}
          {heldUsers.map((u, i) => (
            <span key={u.id}>
              {i > 0 ? ', ' : ''}
              <Link to={`/users/${u.id}`}>{u.username}</Link>
            </span>
          ))}
          {r.users > heldUsers.length ? ` and ${number(r.users - heldUsers.length)} more` : ''}
        </p>
      ) : null}
      {heldAdmins.length > 0 ? (
        <p data-testid="held-admins">
          Would go to pending deletion:{' '}
          {heldAdmins.map((a, i) => (
            <span key={a.id}>
              {i > 0 ? ', ' : ''}
              <Link to={`/admins?q=${encodeURIComponent(a.email)}`}>{a.email}</Link>
            </span>
          ))}
          {r.admins > heldAdmins.length ? ` and ${number(r.admins - heldAdmins.length)} more` : ''}
        </p>
      ) : null}
      {blocked && canDecide ? (
        <div className="form-actions decide">
          <button
            type="button"
            className="primary"
            disabled={busy}
            onClick={() => {
              const who = admin ? plural(r.admins, 'administrator') : plural(r.users, 'user');
              if (!confirm(`Approve: move ${who} to pending deletion?`)) return;
              void approve({ variables: { runId: run.id } }).catch(() => undefined);
            }}
          >
            Approve removals
          </button>
          <button
            type="button"
            className="danger"
            disabled={busy}
            onClick={() => void reject({ variables: { runId: run.id } }).catch(() => undefined)}
          >
            Reject
          </button>
        </div>
      ) : null}
      {blocked && !canDecide ? (
        <p className="hint">An owner approves or rejects blocked runs.</p>
      ) : null}
      <ErrorBox error={approving.error ?? rejecting.error} />
    </div>
  );
}

/**
 * A running run's live counts. A dry run knows only what it has read (users and groups seen)
 * until its plan is done — the planned counts are 0 until then — so it says which phase it is
 * in: reading (the connector reads) or planning (the connector has read everything,
 * `connector.publishedAt`; identity computes the plan), never "0 created" (docs/lifecycle.md).
 */
function Progress({ run }: { run: RunDetail }) {
  const { data } = useQuery(PREVIOUS_RUN, { variables: { directoryId: run.directory.id } });
  const previous = data?.runs.nodes.find((r) => r.mode === run.mode && r.id !== run.id);
  const expected = run.mode === 'DELTA' ? undefined : previous?.counts.seen;
  const seen = run.counts.seen;
  const phase =
    run.status === 'QUEUED'
      ? 'queued'
      : !run.dryRun
        ? 'syncing'
        : run.connector?.publishedAt
          ? 'planning'
          : 'reading';
  const label = {
    queued: 'Waiting for the connector… ',
    syncing: 'Syncing… ',
    reading: 'Reading the source… ',
    planning: 'Planning… ',
  }[phase];
  return (
    <div className="progress card" role="status" data-phase={phase}>
      {expected ? <progress value={Math.min(seen, expected)} max={expected} /> : <progress />}
      <span>
        {label}
        <b data-testid="live-seen">{number(seen)}</b> seen
        {expected ? <span className="muted"> of about {number(expected)}</span> : null},{' '}
        {run.dryRun ? (
          <>
            {plural(run.counts.groupsSeen, 'group')} seen;{' '}
            <span className="muted" data-testid="live-plan">
              {phase === 'planning'
                ? 'everything is read; computing what a sync would change'
                : 'the planned changes follow once it has read everything'}
            </span>
          </>
        ) : (
          <>
            {number(run.counts.created)} created, {number(run.counts.updated)} updated,{' '}
            {plural(run.counts.errors, 'error')}
          </>
        )}
      </span>
    </div>
  );
}

function CountsTable({ counts, mode }: { counts: RunCounts; mode: string }) {
  const rows: [string, number][] =
    mode === 'ADMIN'
      ? [
          ['administrators seen', counts.adminsSeen],
          ['created', counts.adminsCreated],
          ['updated', counts.adminsUpdated],
          ['unchanged', counts.adminsUnchanged],
          ['disabled', counts.adminsDisabled],
          ['pending deletion', counts.adminsPendingDeletion],
          ['restored', counts.adminsRestored],
          ['errors', counts.errors],
        ]
      : [
          ['users seen', counts.seen],
          ['created', counts.created],
          ['updated', counts.updated],
          ['unchanged', counts.unchanged],
          ['disabled', counts.disabled],
          ['pending deletion', counts.pendingDeletion],
          ['restored', counts.restored],
          ['errors', counts.errors],
          ['conflicts', counts.conflicts],
          ['groups seen', counts.groupsSeen],
          ['groups created', counts.groupsCreated],
          ['groups updated', counts.groupsUpdated],
          ['groups removed', counts.groupsRemoved],
          ['memberships added', counts.membershipsAdded],
          ['memberships removed', counts.membershipsRemoved],
        ];
  return (
    <table className="table counts">
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k} data-count={k}>
            <th>{k}</th>
            <td className="num">{number(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * What the run did to each user and group, 50 a page: by default its changes without the
 * per-object errors and username conflicts (listed on their own below, and in a run full of
 * them they would push the few real changes off the first page); `?kind=` picks one kind, or
 * `ALL` for everything. Each kind with its count is one click away. While the run is active
 * both poll; when it ends they are read once more, since the last poll may predate its final
 * changes (a dry run records its whole plan at the end).
 */
function RunChanges({ runId, active }: { runId: string; active: boolean }) {
  const { query } = useLocation();
  const kind = query.get('kind');
  const kinds = kind === 'ALL' ? null : kind ? [kind] : CHANGE_ONLY_KINDS;
  const pager = useCursorPager(`${runId}|${kind}`);
  const { data, error, previousData, refetch } = useQuery(RUN_CHANGES, {
    variables: { id: runId, kinds, after: pager.after },
    pollInterval: active ? 2_000 : 0,
  });
  const counts = useQuery(RUN_CHANGE_KINDS, {
    variables: { id: runId },
    pollInterval: active ? 2_000 : 0,
  });
  const wasActive = useRef(active);
  const refetchCounts = counts.refetch;
  useEffect(() => {
    if (wasActive.current && !active) {
      void refetch().catch(() => undefined);
      void refetchCounts().catch(() => undefined);
    }
    wasActive.current = active;
  }, [active, refetch, refetchCounts]);
  const changes = (data ?? previousData)?.run?.changes;
  const byKind = new Map<string, number>();
  const countsRun = (counts.data ?? counts.previousData)?.run;
  for (const k of CHANGE_KINDS) {
    const c = countsRun?.[k];
    if (c && typeof c === 'object') byKind.set(k, c.totalCount);
  }
  const sum = (ks: readonly string[]) => ks.reduce((n, k) => n + (byKind.get(k) ?? 0), 0);
  const known = byKind.size > 0;
  const label = (text: string, n: number | undefined) =>
    known && n !== undefined ? `${text} (${number(n)})` : text;
  const present = CHANGE_KINDS.filter((k) => (byKind.get(k) ?? 0) > 0);
  const problems = sum(PROBLEM_KINDS);
  return (
    <div className="card" data-testid="changes">
      <div className="card-header">
        <h2>
          Changes{' '}
          {changes ? (
            <span className="muted" data-testid="changes-total">
              ({number(changes.totalCount)})
            </span>
          ) : null}
        </h2>
        <select
          aria-label="change kind"
          name="kind"
          value={kind ?? ''}
          onChange={(e) => setQuery({ kind: e.target.value })}
        >
          <option value="">
            {label('changes (no errors or conflicts)', sum(CHANGE_ONLY_KINDS))}
          </option>
          <option value="ALL">{label('everything', sum(CHANGE_KINDS))}</option>
          {CHANGE_KINDS.map((k) => (
            <option key={k} value={k}>
              {label(words(k), byKind.get(k))}
            </option>
          ))}
        </select>
      </div>
      {present.length ? (
        <ul className="chips kinds" data-testid="change-kinds">
          {present.map((k) => (
            <li key={k} data-kind={k} className={kind === k ? 'selected' : undefined}>
              <a
                href={`?kind=${k}`}
                onClick={(e) => {
                  e.preventDefault();
                  setQuery({ kind: kind === k ? '' : k });
                }}
              >
                {words(k)} <b>{number(byKind.get(k) ?? 0)}</b>
              </a>
            </li>
          ))}
        </ul>
      ) : null}
      <ErrorBox error={error} />
      {changes && changes.nodes.length === 0 ? (
        <Empty>
          No changes{kind && kind !== 'ALL' ? ' of this kind' : ''}.
          {!kind && problems > 0
            ? ` ${plural(problems, 'error or conflict', 'errors and conflicts')} ${problems === 1 ? 'is' : 'are'} listed below.`
            : ''}
        </Empty>
      ) : null}
      {changes?.nodes.length ? <ChangesTable changes={changes.nodes} /> : null}
      {changes && (pager.page > 0 || changes.pageInfo.hasNextPage) ? (
        <Pager
          page={pager.page}
          hasNext={changes.pageInfo.hasNextPage}
          onNext={() => pager.next(changes.pageInfo.endCursor)}
          onPrevious={pager.previous}
          onFirst={pager.first}
        />
      ) : null}
    </div>
  );
}
