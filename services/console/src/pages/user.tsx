import { useMutation, useQuery } from '@apollo/client/react';
import { SYNC_USER, USER } from '../graphql/operations.js';
import { words } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { Permission, useCan } from '../lib/viewer.js';
import { Badge, Dl, Empty, ErrorBox, Loading, PageHeader, Time } from '../ui/components.js';

export function UserPage({ id }: { id: string }) {
  const { data, error, loading, refetch } = useQuery(USER, { variables: { id } });
  const canSync = useCan(Permission.SYNC_USER);
  const [syncUser, sync] = useMutation(SYNC_USER);
  const u = data?.user;
  if (loading && !data) return <Loading />;
  if (error && !u) return <ErrorBox error={error} />;
  if (!u) return <Empty>No user {id}.</Empty>;

  const resync = async () => {
    await syncUser({ variables: { directoryId: u.directoryId, username: u.username } }).catch(
      () => undefined,
    );
    await refetch();
  };
  const outcome = sync.data?.syncUser;
  return (
    <section data-user-status={u.status}>
      <PageHeader
        title={
          <>
            {u.username} <Badge value={u.status} />
          </>
        }
      >
        {canSync && u.directory ? (
          <button type="button" onClick={() => void resync()} disabled={sync.loading}>
            {sync.loading ? 'Syncing…' : 'Sync from source'}
          </button>
        ) : null}
      </PageHeader>
      {outcome ? (
        <p className="outcome" data-outcome={outcome.outcome} role="status">
          Sync: <Badge value={outcome.outcome} />{' '}
          <Link to={`/runs/${outcome.run.id}`} className="muted">
            run
          </Link>
          {outcome.run.errorCode ? (
            <span className="field-error">
              {' '}
              <code>{outcome.run.errorCode}</code> {outcome.run.errorMessage}
            </span>
          ) : null}
        </p>
      ) : null}
      <ErrorBox error={sync.error} />
      {u.status === 'PENDING_DELETION' ? (
        <div className="notice">
          Pending deletion since <Time iso={u.pendingDeletionAt} /> ({words(u.removalReason)});
          purged <Time iso={u.purgeAfter} /> unless it comes back in the source.
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
                ) : (
                  'deleted'
                ),
              ],
              [
                'Location',
                u.sourceLocator ? <span className="mono small">{u.sourceLocator}</span> : null,
              ],
              ['External id', <span className="mono small">{u.externalId}</span>],
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
    </section>
  );
}
