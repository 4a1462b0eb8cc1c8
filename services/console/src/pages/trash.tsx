import { useMutation } from '@apollo/client/react';
import { PURGE_USER, RESTORE_USER } from '../graphql/operations.js';
import { Permission, useCan } from '../lib/viewer.js';
import { ErrorBox } from '../ui/components.js';
import { UsersPage } from './users.js';

/**
 * Users pending deletion: gone from their source (or out of every selected group), restorable
 * until their purge time. Restore gives the user back its previous status (same id; a user the
 * source still lacks is removed again by the next full sync); purge deletes it now.
 */
export function TrashPage() {
  const canRestore = useCan(Permission.USER_RESTORE);
  const canPurge = useCan(Permission.USER_PURGE);
  return (
    <UsersPage
      fixedStatus={['PENDING_DELETION']}
      title="Trash"
      renderActions={
        canRestore || canPurge
          ? (u) => <TrashActions user={u} canRestore={canRestore} canPurge={canPurge} />
          : undefined
      }
    />
  );
}

/** Both actions refetch the trash and its count, so the row leaves the list. */
export function TrashActions({
  user,
  canRestore,
  canPurge,
  onDone,
}: {
  user: { id: string; username: string };
  canRestore: boolean;
  canPurge: boolean;
  onDone?: (what: 'restored' | 'purged') => void;
}) {
  const refetchQueries = ['Users', 'UserCount', 'User', 'DirectoryCounts'];
  const [restore, restoring] = useMutation(RESTORE_USER, { refetchQueries });
  const [purge, purging] = useMutation(PURGE_USER, { refetchQueries });
  const busy = restoring.loading || purging.loading;
  return (
    <>
      {canRestore ? (
        <button
          type="button"
          disabled={busy}
          onClick={() =>
            void restore({ variables: { id: user.id } })
              .then(() => onDone?.('restored'))
              .catch(() => undefined)
          }
        >
          Restore
        </button>
      ) : null}
      {canPurge ? (
        <button
          type="button"
          className="danger"
          disabled={busy}
          onClick={() => {
            if (!confirm(`Purge ${user.username} now? This cannot be undone.`)) return;
            void purge({ variables: { id: user.id } })
              .then(() => onDone?.('purged'))
              .catch(() => undefined);
          }}
        >
          Purge
        </button>
      ) : null}
      <ErrorBox error={restoring.error ?? purging.error} />
    </>
  );
}
