import { useState } from 'react';
import { useMutation } from '@apollo/client/react';
import { PURGE_USER, RESTORE_USER } from '../graphql/operations.js';
import type { UserRow } from '../graphql/types.js';
import { words } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { Permission, useCan } from '../lib/viewer.js';
import { ErrorBox } from '../ui/components.js';
import { UsersPage } from './users.js';

/** What a restore did, for the confirmation the trash and the user's page show. */
export interface Restored {
  id: string;
  username: string;
  status: string;
  /** Why it was pending deletion. */
  removalReason: string | null;
  synced: boolean;
}

/** Why the source still lacks a user it removed, by `RemovalReason`; undefined: not the source. */
const GONE_FROM_SOURCE: Record<string, string> = {
  DELETED: 'was deleted in the source',
  OUT_OF_SCOPE: 'is in none of the selected groups in the source',
  NOT_OBSERVED: 'was not found in the source (deleted, or in none of the selected groups)',
};

/**
 * "Restored aadams — active again." A user its source removed is still missing there: the
 * next full sync moves it to the trash again unless the source changes, so the notice says so.
 */
export function RestoredNotice({ restored }: { restored: Restored }) {
  const gone =
    restored.synced && restored.removalReason
      ? GONE_FROM_SOURCE[restored.removalReason]
      : undefined;
  return (
    <p className="notice" role="status" data-testid="restored">
      Restored <Link to={`/users/${restored.id}`}>{restored.username}</Link> —{' '}
      {words(restored.status)} again.
      {gone
        ? ` It ${gone}: the next full sync moves it to the trash again unless the source changes (it is back in a selected group, or restored there).`
        : ''}
    </p>
  );
}

/**
 * Users pending deletion: gone from their source (or out of every selected group), restorable
 * until their purge time. Restore gives the user back its previous status (same id; a user the
 * source still lacks is removed again by the next full sync, which the confirmation says);
 * purge deletes it now.
 */
export function TrashPage() {
  const canRestore = useCan(Permission.USER_RESTORE);
  const canPurge = useCan(Permission.USER_PURGE);
  const [done, setDone] = useState<{ restored?: Restored; purged?: string }>({});
  return (
    <UsersPage
      fixedStatus={['PENDING_DELETION']}
      title="Trash"
      notice={
        done.restored ? (
          <RestoredNotice restored={done.restored} />
        ) : done.purged ? (
          <p className="notice" role="status" data-testid="purged">
            Purged {done.purged}.
          </p>
        ) : null
      }
      renderActions={
        canRestore || canPurge
          ? (u) => (
              <TrashActions
                user={u}
                canRestore={canRestore}
                canPurge={canPurge}
                onRestored={(restored) => setDone({ restored })}
                onDone={(what) => {
                  if (what === 'purged') setDone({ purged: u.username });
                }}
              />
            )
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
  onRestored,
}: {
  user: Pick<UserRow, 'id' | 'username' | 'removalReason' | 'synced'>;
  canRestore: boolean;
  canPurge: boolean;
  onDone?: (what: 'restored' | 'purged') => void;
  /** After a restore: what it did, for a {@link RestoredNotice}. */
  onRestored?: (restored: Restored) => void;
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
              .then((r) => {
                const status = r.data?.restoreUser.status;
                if (status) {
                  onRestored?.({
                    id: user.id,
                    username: user.username,
                    status,
                    removalReason: user.removalReason,
                    synced: user.synced,
                  });
                }
                onDone?.('restored');
              })
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
