import { useMutation, useQuery } from '@apollo/client/react';
import { BLOCKED_RUNS, DIRECTORIES, DIRECTORY_COUNTS, SYNC_ALL } from '../graphql/operations.js';
import type { DirectorySummary } from '../graphql/types.js';
import { number } from '../lib/format.js';
import { Link, navigate } from '../lib/router.js';
import { Permission, useCan } from '../lib/viewer.js';
import { Badge, Empty, ErrorBox, Loading, PageHeader, Time } from '../ui/components.js';
import { ACTIVE, CountsLine } from '../ui/run-bits.js';

export function kindLabel(d: { kind: string; ldap: { profile: string } | null }): string {
  if (d.kind === 'LDAP')
    return d.ldap?.profile === 'activedirectory' ? 'Active Directory' : 'OpenLDAP';
  if (d.kind === 'ENTRA') return 'Entra ID';
  return d.kind;
}

export function DirectoriesPage() {
  const canManage = useCan(Permission.DIRECTORY_MANAGE);
  // Refresh while any run is active, so the list shows runs finishing without a reload.
  const { data, error, loading } = useQuery(DIRECTORIES, { pollInterval: 5_000 });
  const dirs = data?.directories.nodes ?? [];
  return (
    <section>
      <PageHeader title="Directories">
        {canManage ? (
          <button type="button" className="primary" onClick={() => navigate('/directories/new')}>
            Add directory
          </button>
        ) : null}
      </PageHeader>
      <BlockedRuns />
      <ErrorBox error={error} />
      {loading && !data ? <Loading /> : null}
      {data && dirs.length === 0 ? (
        <Empty>
          No directories yet.{' '}
          {canManage ? <Link to="/directories/new">Connect one</Link> : 'An owner can connect one.'}
        </Empty>
      ) : null}
      {dirs.length ? (
        <table className="table directories">
          <thead>
            <tr>
              <th>Name</th>
              <th>Kind</th>
              <th>Last run</th>
              <th>Next run</th>
              <th>Users</th>
              <th>Groups</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            {dirs.map((d) => (
              <DirectoryRow key={d.id} d={d} />
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

function DirectoryRow({ d }: { d: DirectorySummary }) {
  const canSync = useCan(Permission.SYNC_RUN);
  const active = d.lastRun ? ACTIVE.includes(d.lastRun.status) : false;
  const lastSync = d.lastSyncs.nodes[0];
  const lastAdmin = d.lastAdminSyncs.nodes[0];
  const { data: counts } = useQuery(DIRECTORY_COUNTS, {
    variables: { id: d.id },
    pollInterval: active ? 2_000 : 30_000,
  });
  const [syncAll, sync] = useMutation(SYNC_ALL);
  const start = async () => {
    const res = await syncAll({ variables: { directoryId: d.id, mode: 'FULL' } }).catch(
      () => undefined,
    );
    if (res?.data) navigate(`/runs/${res.data.syncAll.id}`);
  };
  return (
    <tr data-directory={d.name}>
      <td>
        <Link to={`/directories/${d.id}`}>{d.name}</Link>
        {d.enabled ? null : (
          <>
            {' '}
            <Badge value="DISABLED" />
          </>
        )}
        <div className="muted small">{d.ldap?.url ?? d.entra?.tenantId}</div>
      </td>
      <td>{kindLabel(d)}</td>
      <td data-testid="last-sync">
        {/* The last user sync (full or delta), not whichever run came last: an admin or
            single-user run would hide it. The last admin sync goes under it. */}
        {lastSync ? (
          <>
            <Link to={`/runs/${lastSync.id}`}>
              <Badge value={lastSync.status} />
            </Link>{' '}
            <Time iso={lastSync.finishedAt ?? lastSync.queuedAt} />{' '}
            <span className="muted">{lastSync.mode.toLowerCase()}</span>
            <div className="small">
              <CountsLine counts={lastSync.counts} mode={lastSync.mode} />
            </div>
          </>
        ) : (
          <span className="muted">never synced</span>
        )}
        {lastAdmin ? (
          <div className="small muted" data-testid="last-admin-sync">
            admin <Link to={`/runs/${lastAdmin.id}`}>{lastAdmin.status.toLowerCase()}</Link>{' '}
            <Time iso={lastAdmin.finishedAt ?? lastAdmin.queuedAt} /> · admins seen{' '}
            {number(lastAdmin.counts.adminsSeen)}
          </div>
        ) : null}
      </td>
      <td>
        {d.nextRunAt ? <Time iso={d.nextRunAt} /> : <span className="muted">on demand</span>}
        {d.nextDeltaRunAt ? (
          <div className="small muted">
            delta <Time iso={d.nextDeltaRunAt} />
          </div>
        ) : null}
      </td>
      <td data-testid="user-counts">
        {counts ? (
          <>
            <b>{number(counts.active.totalCount)}</b> active
            {counts.disabled.totalCount ? (
              <div className="small muted">{number(counts.disabled.totalCount)} disabled</div>
            ) : null}
            {counts.pending.totalCount ? (
              <div className="small muted">
                {number(counts.pending.totalCount)} pending deletion
              </div>
            ) : null}
          </>
        ) : (
          '…'
        )}
      </td>
      <td>{counts ? number(counts.groups.totalCount) : '…'}</td>
      <td className="row-actions">
        {canSync ? (
          <button type="button" onClick={() => void start()} disabled={sync.loading || active}>
            {active ? 'Syncing…' : 'Sync now'}
          </button>
        ) : null}
        <ErrorBox error={sync.error} />
      </td>
    </tr>
  );
}

/** Blocked runs wait for an owner: shown above the list until decided. */
function BlockedRuns() {
  const { data } = useQuery(BLOCKED_RUNS, { pollInterval: 10_000 });
  const runs = data?.runs.nodes ?? [];
  if (!runs.length) return null;
  return (
    <div className="notice blocked-runs" role="status">
      <strong>
        {runs.length === 1 ? 'A run is' : `${runs.length} runs are`} blocked by the deletion
        threshold:
      </strong>{' '}
      {runs.map((r, i) => (
        <span key={r.id}>
          {i ? ', ' : ''}
          <Link to={`/runs/${r.id}`}>{r.directory?.name ?? r.id.slice(0, 8)}</Link>
        </span>
      ))}
      . Nothing was removed; review the planned removals and approve or reject.
    </div>
  );
}
