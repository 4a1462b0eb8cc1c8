import { useState } from 'react';
import { useMutation, useQuery } from '@apollo/client/react';
import {
  DELETE_USER,
  SET_USER_BYPASS,
  SYNC_USER,
  USER,
  USER_HISTORY,
} from '../graphql/operations.js';
import { ChangesTable } from '../ui/changes.js';
import { useCursorPager } from '../lib/paging.js';
import { PagedList } from '../ui/paged-list.js';
import { words } from '../lib/format.js';
import { Link, navigate } from '../lib/router.js';
import { Permission, useCan } from '../lib/viewer.js';
import { Badge, Dl, Empty, ErrorBox, Loading, PageHeader, Time } from '../ui/components.js';
import { RestoredNotice, TrashActions, type Restored } from './trash.js';
import { SyncOutcome } from '../ui/sync-outcome.js';

export function UserPage({ id }: { id: string }) {
  const { data, error, loading, refetch } = useQuery(USER, { variables: { id } });
  const canSync = useCan(Permission.SYNC_USER);
  const canManage = useCan(Permission.USER_MANAGE);
  const canRestore = useCan(Permission.USER_RESTORE);
  const canPurge = useCan(Permission.USER_PURGE);
  const [syncUser, sync] = useMutation(SYNC_USER);
  const [setBypass, bypass] = useMutation(SET_USER_BYPASS);
  const [deleteUser, deletion] = useMutation(DELETE_USER);
  const [restored, setRestored] = useState<Restored | undefined>();
  const u = data?.user;
  if (loading && !data) return <Loading />;
  if (error && !u) return <ErrorBox error={error} />;
  if (!u) return <Empty>No user {id}.</Empty>;

  /** Sync from the source — or plan it (dry run): the outcome and changes, nobody changed. */
  const resync = async (dryRun: boolean) => {
    if (!u.directoryId) return;
    await syncUser({
      variables: { directoryId: u.directoryId, username: u.username, dryRun },
    }).catch(() => undefined);
    if (!dryRun) await refetch();
  };
  const toggleBypass = async () => {
    await setBypass({ variables: { id: u.id, bypass: !u.bypass } }).catch(() => undefined);
    await refetch();
  };
  const remove = async () => {
    if (!confirm(`Delete ${u.username}? A manual user is deleted at once.`)) return;
    const res = await deleteUser({
      variables: { id: u.id },
      refetchQueries: ['Users', 'UserCount'],
    }).catch(() => undefined);
    if (res?.data?.deleteUser) navigate('/users');
  };
  const outcome = sync.data?.syncUser;
  return (
    <section data-user-status={u.status}>
      <PageHeader
        title={
          <>
            {u.username} <Badge value={u.status} />{' '}
            {u.synced ? null : <span className="badge">manual</span>}
          </>
        }
      >
        {canSync && u.synced && u.directory ? (
          <>
            <button type="button" onClick={() => void resync(false)} disabled={sync.loading}>
              {sync.loading ? 'Syncing…' : 'Sync from source'}
            </button>
            <button
              type="button"
              onClick={() => void resync(true)}
              disabled={sync.loading}
              title="Read the user from the source and show what a sync would change; change nothing"
            >
              Plan sync
            </button>
          </>
        ) : null}
        {canManage ? (
          <button
            type="button"
            onClick={() => void toggleBypass()}
            disabled={bypass.loading}
            title="A bypassed user is exempt from MFA; syncs keep the flag"
          >
            {u.bypass ? 'Clear bypass' : 'Set bypass'}
          </button>
        ) : null}
        {canManage && !u.synced ? (
          <>
            <button type="button" onClick={() => navigate(`/users/${u.id}/edit`)}>
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
      <ErrorBox error={bypass.error} />
      <ErrorBox error={deletion.error} />
      {outcome ? <SyncOutcome outcome={outcome.outcome} run={outcome.run} /> : null}
      <ErrorBox error={sync.error} />
      {u.status === 'PENDING_DELETION' ? (
        <div className="notice">
          Pending deletion since <Time iso={u.pendingDeletionAt} /> ({words(u.removalReason)});
          purged <Time iso={u.purgeAfter} /> unless it comes back in the source.{' '}
          <TrashActions
            user={u}
            canRestore={canRestore}
            canPurge={canPurge}
            onDone={(what) => (what === 'purged' ? navigate('/trash') : void refetch())}
            onRestored={setRestored}
          />
        </div>
      ) : null}
      {restored && restored.id === u.id && u.status !== 'PENDING_DELETION' ? (
        <RestoredNotice restored={restored} />
      ) : null}
      {u.nameConflicts.length > 0 ? (
        <div className="notice" data-testid="name-conflicts">
          Another user holds{' '}
          {u.nameConflicts.length === 1 ? 'a name of this user' : 'names of this user'}; a held name
          matches nothing (two names that are the same under Unicode case folding):
          <ul className="plain">
            {u.nameConflicts.map((c) => (
              <li key={`${c.code}:${c.name}`}>
                {c.code === 'USERNAME_CONFLICT' ? 'Username' : 'Alias'}{' '}
                <span className="mono">{c.name}</span>{' '}
                {c.holder ? (
                  <>
                    held by <Link to={`/users/${c.holder.id}`}>{c.holder.username}</Link>
                  </>
                ) : (
                  <span className="muted">free again: the next sync takes it back</span>
                )}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <div className="columns">
        <div className="card">
          <h2>Profile</h2>
          <Dl
            items={[
              ['Display name', u.displayName],
              ['First name', u.firstName],
              ['Last name', u.lastName],
              ['E-mail', u.email],
              [
                'Aliases',
                u.aliases.length ? (
                  <ul className="plain">
                    {u.aliases.map((a) => (
                      <li key={a}>{a}</li>
                    ))}
                  </ul>
                ) : null,
              ],
              [
                'Phones',
                u.phones.length ? (
                  <ul className="plain">
                    {u.phones.map((p) => (
                      <li key={`${p.kind}:${p.number}`}>
                        <span className="mono">{p.number}</span>{' '}
                        <span className="muted">{p.kind}</span>
                      </li>
                    ))}
                  </ul>
                ) : null,
              ],
              ...u.customAttributes.map((c): [string, string] => [c.name, c.value]),
            ]}
          />
        </div>
        <div className="card">
          <h2>Source</h2>
          <Dl
            items={[
              [
                'Directory',
                u.directory ? (
                  <Link to={`/directories/${u.directory.id}`}>{u.directory.name}</Link>
                ) : u.synced ? (
                  'deleted'
                ) : (
                  'none — a manual user'
                ),
              ],
              [
                'Location',
                u.sourceLocator ? <span className="mono small">{u.sourceLocator}</span> : null,
              ],
              [
                'External id',
                u.externalId ? <span className="mono small">{u.externalId}</span> : null,
              ],
              ['Bypass', u.bypass ? 'yes (set by an operator; syncs keep it)' : 'no'],
              ['Last sync', <Time iso={u.lastDirectorySync} />],
              ['Created', <Time iso={u.createdAt} />],
              ['Updated', <Time iso={u.updatedAt} />],
            ]}
          />
        </div>
      </div>
      <div className="card">
        <h2>
          Groups <span className="muted">({u.groups.totalCount})</span>
        </h2>
        {u.groups.nodes.length === 0 ? <Empty>In no group.</Empty> : null}
        <ul className="chips">
          {u.groups.nodes.map((g) => (
            <li key={g.id}>
              <Link to={`/groups/${g.id}`}>{g.name}</Link>
            </li>
          ))}
        </ul>
      </div>
      <History id={u.id} />
    </section>
  );
}

/** What runs did to the user, newest first (kept for the identity service's retention). */
function History({ id }: { id: string }) {
  const pager = useCursorPager(id);
  const { data, error, previousData } = useQuery(USER_HISTORY, {
    variables: { id, after: pager.after },
  });
  const history = (data ?? previousData)?.user?.history;
  return (
    <div className="card" data-testid="history">
      <h2>History {history ? <span className="muted">({history.totalCount})</span> : null}</h2>
      <PagedList
        page={history}
        pager={pager}
        error={error}
        empty="No recorded changes."
        compactPager
      >
        {(nodes) => <ChangesTable changes={nodes} showRun />}
      </PagedList>
    </div>
  );
}
