import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from '@apollo/client/react';
import {
  DELETE_DIRECTORY,
  DIRECTORY,
  DIRECTORY_CONNECTOR,
  DIRECTORY_COUNTS,
  RUNS,
  TEST_DIRECTORY,
  SYNC_ADMIN,
  SYNC_ALL,
  SYNC_USER,
} from '../graphql/operations.js';
import type { DirectoryDetail } from '../graphql/types.js';
import { errorCode, problemsOf } from '../lib/errors.js';
import { number, plural } from '../lib/format.js';
import { useCursorPager } from '../lib/paging.js';
import { Link, navigate } from '../lib/router.js';
import { Permission, useCan } from '../lib/viewer.js';
import { Badge, Dl, Empty, ErrorBox, Loading, PageHeader, Time } from '../ui/components.js';
import { PagedList } from '../ui/paged-list.js';
import { ACTIVE, RunTable } from '../ui/run-bits.js';
import { kindLabel } from './directories.js';
import { ConnectionTestResult } from '../ui/connection-test.js';
import { SyncOutcome } from '../ui/sync-outcome.js';

export function DirectoryPage({ id }: { id: string }) {
  const canManage = useCan(Permission.DIRECTORY_MANAGE);
  const { data, error, loading } = useQuery(DIRECTORY, { variables: { id } });
  const [deleteDirectory, deletion] = useMutation(DELETE_DIRECTORY);
  const [testDirectory, test] = useMutation(TEST_DIRECTORY);
  const d = data?.directory;
  if (loading && !data) return <Loading />;
  if (error) return <ErrorBox error={error} />;
  if (!d) return <Empty>No directory {id}.</Empty>;

  const remove = async () => {
    if (!confirm(`Delete "${d.name}"? Its users move to pending deletion.`)) return;
    const res = await deleteDirectory({ variables: { id }, refetchQueries: ['Directories'] }).catch(
      () => undefined,
    );
    if (res?.data?.deleteDirectory) navigate('/directories');
  };

  return (
    <section>
      <PageHeader
        title={
          <>
            {d.name} <span className="muted small">{kindLabel(d)}</span>
            {d.enabled ? null : <Badge value="DISABLED" />}
          </>
        }
      >
        {canManage ? (
          <>
            <button
              type="button"
              onClick={() => void testDirectory({ variables: { id } }).catch(() => undefined)}
              disabled={test.loading}
            >
              {test.loading ? 'Testing…' : 'Test connection'}
            </button>
            <button type="button" onClick={() => navigate(`/directories/${id}/edit`)}>
              Edit
            </button>
            <button
              type="button"
              className="danger"
              onClick={() => void remove()}
              disabled={deletion.loading}
            >
              Delete
            </button>
          </>
        ) : null}
      </PageHeader>
      <ErrorBox error={deletion.error} />
      <ErrorBox error={test.error} />
      {test.data ? (
        <div className="card">
          <h2>Connection test</h2>
          <ConnectionTestResult test={test.data.testDirectory} />
        </div>
      ) : null}
      <div className="columns">
        <SyncPanel d={d} />
        <Overview d={d} />
      </div>
      <RunHistory directoryId={id} />
    </section>
  );
}

function Overview({ d }: { d: DirectoryDetail }) {
  const { data: counts } = useQuery(DIRECTORY_COUNTS, { variables: { id: d.id } });
  const c = counts;
  return (
    <div className="card">
      <h2>Overview</h2>
      <Dl
        items={[
          [
            'Users',
            c ? (
              <Link to={`/users?directory=${d.id}`}>
                {number(c.active.totalCount)} active, {number(c.disabled.totalCount)} disabled
              </Link>
            ) : (
              '…'
            ),
          ],
          [
            'Pending deletion',
            c ? <Link to={`/trash?directory=${d.id}`}>{number(c.pending.totalCount)}</Link> : '…',
          ],
          [
            'Groups',
            c ? <Link to={`/groups?directory=${d.id}`}>{number(c.groups.totalCount)}</Link> : '…',
          ],
          ['Administrators', c ? number(c.admins.totalCount) : '…'],
          ['Source', d.ldap ? d.ldap.url : d.entra ? `tenant ${d.entra.tenantId}` : d.kind],
          ['Connector', <ConnectorStatus key="connector" directoryId={d.id} />],
          ['Selected groups', plural(d.selectedGroups.length, 'group')],
          [
            'Full sync',
            d.scheduleIntervalMinutes ? (
              <>
                every {d.scheduleIntervalMinutes} min, next <Time iso={d.nextRunAt} />
              </>
            ) : (
              'on demand'
            ),
          ],
          [
            'Delta sync',
            d.deltaIntervalMinutes ? (
              <>
                every {d.deltaIntervalMinutes} min, next <Time iso={d.nextDeltaRunAt} />
              </>
            ) : (
              'off'
            ),
          ],
          ['Restore window', plural(d.restoreWindowDays, 'day')],
          [
            'Username conflicts',
            d.conflictPolicy === 'TAKE_OVER' ? 'take the user over' : 'reported, not imported',
          ],
          [
            'Deletion threshold',
            `${d.deletionThreshold.maxCount ? plural(d.deletionThreshold.maxCount, 'user') : 'no count limit'}, ${
              d.deletionThreshold.maxPercent
                ? `${d.deletionThreshold.maxPercent} %`
                : 'no percentage limit'
            }`,
          ],
          [
            'Admin sync',
            d.adminRoles.length
              ? `${d.adminRoles.map((r) => r.role.toLowerCase().replace(/_/g, ' ')).join(', ')}`
              : 'off',
          ],
        ]}
      />
    </div>
  );
}

/**
 * Is a connector process for this directory's kind running (presence heartbeats, refreshed
 * every 5 s)? Without one its runs fail with NO_CONNECTOR, so say what to start.
 */
function ConnectorStatus({ directoryId }: { directoryId: string }) {
  const { data, error } = useQuery(DIRECTORY_CONNECTOR, {
    variables: { id: directoryId },
    pollInterval: 5_000,
  });
  const c = data?.directory?.connector;
  if (error) return <span className="muted">unknown ({errorCode(error) ?? 'error'})</span>;
  if (!c) return '…';
  const alive = c.instances.filter((i) => i.state === 'ALIVE');
  if (c.alive) {
    const busy = alive.filter((i) => i.runIds.length > 0).length;
    return (
      <span data-testid="connector-status" data-alive="true">
        <Badge value="RUNNING" /> connector-{c.kind}, {plural(alive.length, 'process', 'processes')}
        {busy ? `, ${busy} busy` : ', idle'}
        <span className="muted small">
          {' '}
          ({alive.map((i) => `${i.instance}${i.version ? ` v${i.version}` : ''}`).join(', ')})
        </span>
      </span>
    );
  }
  return (
    <span data-testid="connector-status" data-alive="false">
      <Badge value="FAILED" /> no connector-{c.kind} process is running
      {c.lastSeenAt ? (
        <>
          {' '}
          (last heard from <Time iso={c.lastSeenAt} />)
        </>
      ) : null}
      : syncs fail with NO_CONNECTOR. Start <code>services/connector-{c.kind}</code>.
    </span>
  );
}

function SyncPanel({ d }: { d: DirectoryDetail }) {
  const canRun = useCan(Permission.SYNC_RUN);
  const canUser = useCan(Permission.SYNC_USER);
  const [mode, setMode] = useState('FULL');
  const [dryRun, setDryRun] = useState(false);
  const [syncAll, all] = useMutation(SYNC_ALL);
  const active = d.lastRun && ACTIVE.includes(d.lastRun.status) ? d.lastRun : undefined;
  if (!canRun && !canUser) return null;

  const startRun = async (e: FormEvent) => {
    e.preventDefault();
    const res = await syncAll({
      variables: { directoryId: d.id, mode, dryRun: dryRun && mode !== 'ADMIN' },
      refetchQueries: ['Directories'],
    }).catch(() => undefined);
    if (res?.data) navigate(`/runs/${res.data.syncAll.id}`);
  };
  const busyRunId = problemsOf(all.error).find((p) => p.code === 'RUN_IN_PROGRESS')?.extensions
    .runId as string | undefined;

  return (
    <div className="card sync-panel">
      <h2>Sync</h2>
      {canRun ? (
        <form onSubmit={(e) => void startRun(e)} className="inline-form">
          <select
            name="mode"
            value={mode}
            onChange={(e) => setMode(e.target.value)}
            aria-label="mode"
          >
            <option value="FULL">Full — read everything, remove what is gone</option>
            <option value="DELTA">Delta — read what changed</option>
            {d.adminRoles.length ? <option value="ADMIN">Administrators</option> : null}
          </select>
          {mode !== 'ADMIN' ? (
            <label
              className="inline-check"
              title="Read the source and record the plan; change nobody"
            >
              <input
                type="checkbox"
                name="dryRun"
                checked={dryRun}
                onChange={(e) => setDryRun(e.target.checked)}
              />{' '}
              dry run
            </label>
          ) : null}
          <button type="submit" className="primary" disabled={all.loading}>
            {dryRun && mode !== 'ADMIN' ? 'Plan' : 'Sync now'}
          </button>
        </form>
      ) : null}
      {active ? (
        <p className="notice">
          A run is {active.status.toLowerCase()}: <Link to={`/runs/${active.id}`}>follow it</Link>.
        </p>
      ) : null}
      {errorCode(all.error) === 'RUN_IN_PROGRESS' ? (
        <p className="notice" role="alert">
          Another run is active{busyRunId ? ' — ' : '.'}
          {busyRunId ? <Link to={`/runs/${busyRunId}`}>follow it</Link> : null}
        </p>
      ) : (
        <ErrorBox error={all.error} />
      )}
      {canUser ? <SyncOne directoryId={d.id} what="user" /> : null}
      {canRun && d.adminRoles.length ? <SyncOne directoryId={d.id} what="admin" /> : null}
    </div>
  );
}

/**
 * Sync one user by username or one administrator by e-mail, and show the outcome. A user can be
 * synced as a dry run: the outcome it would have and the planned changes, nobody changed.
 */
function SyncOne({ directoryId, what }: { directoryId: string; what: 'user' | 'admin' }) {
  const [value, setValue] = useState('');
  const [dryRun, setDryRun] = useState(false);
  const [syncUser, user] = useMutation(SYNC_USER);
  const [syncAdmin, admin] = useMutation(SYNC_ADMIN);
  const state = what === 'user' ? user : admin;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const v = value.trim();
    if (!v) return;
    if (what === 'user') {
      // A plan changes nobody: nothing on the page needs refreshing.
      const refetchQueries = dryRun ? [] : ['Directory', 'DirectoryCounts'];
      void syncUser({ variables: { directoryId, username: v, dryRun }, refetchQueries }).catch(
        () => undefined,
      );
    } else {
      void syncAdmin({
        variables: { directoryId, email: v },
        refetchQueries: ['Directory', 'DirectoryCounts'],
      }).catch(() => undefined);
    }
  };
  const result =
    what === 'user'
      ? user.data?.syncUser && {
          outcome: user.data.syncUser.outcome,
          run: user.data.syncUser.run,
          link: user.data.syncUser.user
            ? {
                to: `/users/${user.data.syncUser.user.id}`,
                label: user.data.syncUser.user.username,
              }
            : undefined,
        }
      : admin.data?.syncAdmin && {
          outcome: admin.data.syncAdmin.outcome,
          run: { ...admin.data.syncAdmin.run, dryRun: false, changes: undefined },
          link: admin.data.syncAdmin.admin
            ? {
                to: `/admins?q=${encodeURIComponent(admin.data.syncAdmin.admin.email)}`,
                label: admin.data.syncAdmin.admin.email,
              }
            : undefined,
        };
  return (
    <form onSubmit={submit} className="inline-form sync-one" data-sync-one={what}>
      <label>
        <span className="label">
          {what === 'user' ? 'Sync one user' : 'Sync one administrator'}
        </span>
        <input
          name={what === 'user' ? 'username' : 'email'}
          placeholder={what === 'user' ? 'username' : 'e-mail'}
          value={value}
          onChange={(e) => setValue(e.target.value)}
        />
      </label>
      {what === 'user' ? (
        <label className="inline-check" title="Read the user from the source; change nobody">
          <input
            type="checkbox"
            name="dryRun"
            checked={dryRun}
            onChange={(e) => setDryRun(e.target.checked)}
          />{' '}
          dry run
        </label>
      ) : null}
      <button type="submit" disabled={state.loading}>
        {state.loading ? (dryRun ? 'Planning…' : 'Syncing…') : dryRun ? 'Plan' : 'Sync'}
      </button>
      {result ? <SyncOutcome outcome={result.outcome} run={result.run} link={result.link} /> : null}
      <ErrorBox error={state.error} />
    </form>
  );
}

const STATUS_FILTERS = ['', 'COMPLETED', 'FAILED', 'BLOCKED', 'REJECTED', 'RUNNING', 'QUEUED'];

function RunHistory({ directoryId }: { directoryId: string }) {
  const [status, setStatus] = useState('');
  const pager = useCursorPager(status);
  const { data, error } = useQuery(RUNS, {
    variables: { directoryId, status: status ? [status] : null, after: pager.after, first: 20 },
    pollInterval: 3_000,
  });
  const runs = data?.runs;
  return (
    <div className="card">
      <div className="card-header">
        <h2>Runs {runs ? <span className="muted">({number(runs.totalCount)})</span> : null}</h2>
        <select value={status} onChange={(e) => setStatus(e.target.value)} aria-label="status">
          {STATUS_FILTERS.map((s) => (
            <option key={s} value={s}>
              {s ? s.toLowerCase() : 'any status'}
            </option>
          ))}
        </select>
      </div>
      <PagedList page={runs} pager={pager} error={error} empty="No runs." compactPager>
        {(nodes) => <RunTable runs={nodes} />}
      </PagedList>
    </div>
  );
}
