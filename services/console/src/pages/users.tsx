import { useEffect, useState, type ReactNode } from 'react';
import { useQuery } from '@apollo/client/react';
import { DIRECTORIES, GROUP, GROUP_OPTIONS, USER_COUNT, USERS } from '../graphql/operations.js';
import type { UserFilterVars } from '../graphql/operations.js';
import type { UserRow } from '../graphql/types.js';
import { useDebounced } from '../lib/debounce.js';
import { number, personName, plural, words } from '../lib/format.js';
import { useCursorPager } from '../lib/paging.js';
import { Link, navigate, setQuery, useLocation } from '../lib/router.js';
import { Permission, useCan } from '../lib/viewer.js';
import { Badge, PageHeader, Time } from '../ui/components.js';
import { PagedList, Table } from '../ui/paged-list.js';

const STATUSES = ['ACTIVE', 'DISABLED', 'BYPASS', 'PENDING_DELETION'];
const PAGE_SIZE = 50;

/** Search box bound to the `q` query parameter, updating it as the user pauses typing. */
export function SearchBox({ placeholder }: { placeholder: string }) {
  const { query } = useLocation();
  // The box owns the text while typing; the URL follows once typing pauses.
  const [text, setText] = useState(query.get('q') ?? '');
  const debounced = useDebounced(text);
  useEffect(() => {
    if ((new URLSearchParams(location.search).get('q') ?? '') !== debounced) {
      setQuery({ q: debounced });
    }
  }, [debounced]);
  return (
    <input
      type="search"
      name="search"
      aria-label="search"
      placeholder={placeholder}
      value={text}
      onChange={(e) => setText(e.target.value)}
    />
  );
}

export function DirectorySelect() {
  const { query } = useLocation();
  const dirs = useQuery(DIRECTORIES);
  return (
    <select
      aria-label="directory"
      value={query.get('directory') ?? ''}
      onChange={(e) => setQuery({ directory: e.target.value })}
    >
      <option value="">all directories</option>
      {dirs.data?.directories.nodes.map((d) => (
        <option key={d.id} value={d.id}>
          {d.name}
        </option>
      ))}
    </select>
  );
}

/** Pick a group by typing part of its name (the first 20 matches are offered). */
function GroupFilter({ directoryId }: { directoryId: string | null }) {
  const { query } = useLocation();
  const groupId = query.get('group');
  const [text, setText] = useState('');
  const search = useDebounced(text);
  const options = useQuery(GROUP_OPTIONS, {
    variables: { search: search || null, directoryId },
    skip: !!groupId,
  });
  const current = useQuery(GROUP, { variables: { id: groupId ?? '' }, skip: !groupId });
  if (groupId) {
    return (
      <span className="chip">
        group: {current.data?.group?.name ?? '…'}{' '}
        <button type="button" className="link" onClick={() => setQuery({ group: undefined })}>
          ×
        </button>
      </span>
    );
  }
  const nodes = options.data?.groups.nodes ?? [];
  return (
    <>
      <input
        list="group-options"
        aria-label="group"
        placeholder="in group…"
        value={text}
        onChange={(e) => {
          const picked = nodes.find((g) => g.name === e.target.value);
          if (picked) {
            setText('');
            setQuery({ group: picked.id });
          } else setText(e.target.value);
        }}
      />
      <datalist id="group-options">
        {nodes.map((g) => (
          <option key={g.id} value={g.name}>
            {g.directory?.name}
          </option>
        ))}
      </datalist>
    </>
  );
}

/**
 * Users: search, status, directory and group filters (kept in the URL), 50 per page by cursor.
 * The total is counted once per filter (USER_COUNT), not on every page. `?heldBy=<run id>`: the
 * users a BLOCKED run holds back for removal (the blocked-run box links here).
 */
export function UsersPage({
  fixedStatus,
  title = 'Users',
  renderActions,
  notice,
}: {
  fixedStatus?: string[];
  title?: string;
  renderActions?: (user: UserRow) => ReactNode;
  /** Shown under the header (e.g. what the last action on a row did). */
  notice?: ReactNode;
} = {}) {
  const { query } = useLocation();
  const status = query.get('status');
  const heldBy = query.get('heldBy') || null;
  const filter: UserFilterVars = {
    search: query.get('q') || null,
    directoryId: query.get('directory') || null,
    groupId: query.get('group') || null,
    status: fixedStatus ?? (status ? [status] : null),
    ...(heldBy ? { heldByRunId: heldBy } : {}),
  };
  const key = JSON.stringify(filter);
  const pager = useCursorPager(key);
  const { data, error, loading, previousData } = useQuery(USERS, {
    variables: { filter, after: pager.after, first: PAGE_SIZE },
  });
  const count = useQuery(USER_COUNT, { variables: { filter } });
  const page = (data ?? previousData)?.users;
  const pending = fixedStatus?.includes('PENDING_DELETION');
  const canManage = useCan(Permission.USER_MANAGE);
  return (
    <section>
      <PageHeader title={title}>
        {canManage && !fixedStatus ? (
          <button type="button" onClick={() => navigate('/users/new')}>
            Add user
          </button>
        ) : null}
        {count.data ? (
          <span className="muted" data-testid="user-total">
            {fixedStatus
              ? plural(count.data.users.totalCount, 'user')
              : `${number(count.data.users.totalCount)} matching`}
          </span>
        ) : null}
      </PageHeader>
      {notice}
      {heldBy ? (
        <p className="notice" data-testid="held-by">
          The users blocked run <Link to={`/runs/${heldBy}`}>{heldBy.slice(0, 8)}</Link> would move
          to pending deletion if approved.{' '}
          <a
            href="?"
            onClick={(e) => {
              e.preventDefault();
              setQuery({ heldBy: '' });
            }}
          >
            Show all users
          </a>
        </p>
      ) : null}
      <div className="filters">
        <SearchBox placeholder="username, e-mail or name" />
        {fixedStatus ? null : (
          <select
            aria-label="status"
            value={status ?? ''}
            onChange={(e) => setQuery({ status: e.target.value })}
          >
            <option value="">any status</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {words(s)}
              </option>
            ))}
          </select>
        )}
        <DirectorySelect />
        <GroupFilter directoryId={filter.directoryId ?? null} />
      </div>
      <PagedList page={page} pager={pager} error={error} loading={loading} empty="No users match.">
        {(nodes) => (
          <Table
            className={`users${loading ? ' stale' : ''}`}
            rows={nodes}
            rowAttributes={(u) => ({ 'data-user': u.username })}
            columns={[
              { header: 'Username', cell: (u) => <Link to={`/users/${u.id}`}>{u.username}</Link> },
              { header: 'Name', cell: (u) => personName(u) },
              { header: 'E-mail', cell: (u) => u.email },
              { header: 'Status', cell: (u) => <Badge value={u.status} /> },
              {
                header: 'Directory',
                cell: (u) =>
                  u.directory?.name ?? (
                    <span className="muted">{u.synced ? 'deleted directory' : 'manual'}</span>
                  ),
              },
              pending && { header: 'Reason', cell: (u) => words(u.removalReason) },
              pending && { header: 'Purged', cell: (u) => <Time iso={u.purgeAfter} /> },
              !pending && { header: 'Last sync', cell: (u) => <Time iso={u.lastDirectorySync} /> },
              renderActions && { header: '', cell: renderActions, className: 'row-actions' },
            ]}
          />
        )}
      </PagedList>
    </section>
  );
}
