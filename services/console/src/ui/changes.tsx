import { useQuery } from '@apollo/client/react';
import { GROUP_NAME, type RunChange } from '../graphql/operations.js';
import { plural, words } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { Badge, Time } from './components.js';

export { CHANGE_KINDS } from '../graphql/operations.js';

function show(v: unknown): string {
  if (v === null || v === undefined) return '∅';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}

/**
 * The groups of a membership change by name, each linked (a change holds group ids; each name
 * is asked once and cached). A group deleted since shows its id. More than five: the first five
 * and how many more.
 */
function GroupNames({ ids }: { ids: string[] }) {
  const SHOWN = 5;
  return (
    <>
      {ids.slice(0, SHOWN).map((id, i) => (
        <span key={id}>
          {i > 0 ? ', ' : ''}
          <GroupName id={id} />
        </span>
      ))}
      {ids.length > SHOWN ? ` and ${plural(ids.length - SHOWN, 'more group')}` : ''}
    </>
  );
}

function GroupName({ id }: { id: string }) {
  const { data } = useQuery(GROUP_NAME, { variables: { id }, fetchPolicy: 'cache-first' });
  if (data?.group) return <Link to={`/groups/${id}`}>{data.group.name}</Link>;
  return <span className="mono small">{data ? `deleted group ${id.slice(0, 8)}` : '…'}</span>;
}

/** What one change did: old → new per field, the status move, the groups, or the error. */
function ChangeDetail({ c }: { c: RunChange }) {
  if (c.kind === 'ERROR' || c.kind === 'CONFLICT') {
    return (
      <span>
        {c.errorCode ? <code className="error-code">{c.errorCode} </code> : null}
        {c.errorMessage}
      </span>
    );
  }
  if (c.kind === 'MEMBERSHIP') {
    return (
      <span className="muted" data-testid="membership">
        {c.addedGroupIds.length ? (
          <>
            joined <GroupNames ids={c.addedGroupIds} />
          </>
        ) : null}
        {c.addedGroupIds.length && c.removedGroupIds.length ? '; ' : ''}
        {c.removedGroupIds.length ? (
          <>
            left <GroupNames ids={c.removedGroupIds} />
          </>
        ) : null}
      </span>
    );
  }
  if (c.kind === 'ADMIN_ROLE_CHANGED') {
    return (
      <span>
        <span className="old">{words(c.previousRole)}</span> →{' '}
        <span className="new">{words(c.role)}</span>
      </span>
    );
  }
  if (c.kind === 'PENDING_DELETION' || c.kind === 'ADMIN_PENDING_DELETION') {
    return (
      <span className="muted">
        {words(c.removalReason)}
        {c.previousStatus ? ` (was ${words(c.previousStatus)})` : ''}
      </span>
    );
  }
  if (c.kind === 'CREATED' || c.kind === 'ADMIN_CREATED') {
    return <span className="muted">{plural(c.fields.length, 'field')} imported</span>;
  }
  if (c.fields.length) {
    return (
      <ul className="plain field-changes">
        {c.fields.map((f) => (
          <li key={f.field}>
            <b>{f.field}</b> <span className="old">{show(f.old)}</span> →{' '}
            <span className="new">{show(f.new)}</span>
          </li>
        ))}
      </ul>
    );
  }
  if (c.changedFields.length) return <span className="muted">{c.changedFields.join(', ')}</span>;
  if (c.status) return <span className="muted">now {words(c.status)}</span>;
  return null;
}

export function ChangesTable({
  changes,
  showRun,
}: {
  changes: (RunChange & { run?: { id: string; mode: string; queuedAt: string } })[];
  showRun?: boolean;
}) {
  return (
    <table className="table changes">
      <thead>
        <tr>
          <th>Change</th>
          <th>Object</th>
          <th>What</th>
          {showRun ? <th>Run</th> : null}
        </tr>
      </thead>
      <tbody>
        {changes.map((c) => (
          <tr key={c.id} data-change={c.kind}>
            <td>
              <Badge value={c.kind} />
            </td>
            <td>
              {c.userId && c.username ? (
                <Link to={`/users/${c.userId}`}>{c.username}</Link>
              ) : c.groupId && c.groupName ? (
                <Link to={`/groups/${c.groupId}`}>{c.groupName}</Link>
              ) : c.email ? (
                <span data-change-admin={c.email}>{c.email}</span>
              ) : (
                <span className="mono small">
                  {c.username ?? c.groupName ?? c.sourceLocator ?? c.externalId}
                </span>
              )}
            </td>
            <td>
              <ChangeDetail c={c} />
            </td>
            {showRun && c.run ? (
              <td>
                <Link to={`/runs/${c.run.id}`}>{c.run.mode.toLowerCase()}</Link>{' '}
                <Time iso={c.run.queuedAt} />
              </td>
            ) : null}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
