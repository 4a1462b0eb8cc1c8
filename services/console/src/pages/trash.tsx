import { UsersPage } from './users.js';

/**
 * Users pending deletion: gone from their source (or out of every selected group), restorable
 * until their purge time. Restore and purge are offered once the API has them.
 */
export function TrashPage() {
  return <UsersPage fixedStatus={['PENDING_DELETION']} title="Trash" />;
}
