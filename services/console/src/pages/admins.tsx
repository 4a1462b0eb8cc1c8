import { useQuery } from '@apollo/client/react';
import { ADMINS } from '../graphql/operations.js';
import { number, words } from '../lib/format.js';
import { useCursorPager } from '../lib/paging.js';
import { Link, setQuery, useLocation } from '../lib/router.js';
import { Badge, Empty, ErrorBox, Loading, PageHeader, Pager, Time } from '../ui/components.js';
import { DirectorySelect, SearchBox } from './users.js';

const ROLES = [
  'OWNER',
  'ADMINISTRATOR',
  'APPLICATION_MANAGER',
  'USER_MANAGER',
  'HELP_DESK',
  'BILLING',
  'PHISHING_MANAGER',
  'READ_ONLY',
];
const STATUSES = ['ACTIVE', 'DISABLED', 'PENDING_DELETION'];

export function AdminsPage() {
  const { query } = useLocation();
  const role = query.get('role');
  const status = query.get('status');
  const filter = {
    search: query.get('q') || null,
    directoryId: query.get('directory') || null,
    role: role ? [role] : null,
    status: status ? [status] : null,
  };
  const pager = useCursorPager(JSON.stringify(filter));
  const { data, error, loading, previousData } = useQuery(ADMINS, {
    variables: { filter, after: pager.after, first: 50 },
  });
  const page = (data ?? previousData)?.admins;
  return (
    <section>
      <PageHeader title="Administrators">
        {page ? <span className="muted">{number(page.totalCount)} administrators</span> : null}
      </PageHeader>
      <div className="filters">
        <SearchBox placeholder="e-mail or name" />
        <select
          aria-label="role"
          value={role ?? ''}
          onChange={(e) => setQuery({ role: e.target.value })}
        >
          <option value="">any role</option>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {words(r)}
            </option>
          ))}
        </select>
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
        <DirectorySelect />
      </div>
      <ErrorBox error={error} />
      {loading && !page ? <Loading /> : null}
      {page && page.nodes.length === 0 ? <Empty>No administrators match.</Empty> : null}
      {page?.nodes.length ? (
        <table className="table admins">
          <thead>
            <tr>
              <th>E-mail</th>
              <th>Name</th>
              <th>Role</th>
              <th>Status</th>
              <th>Source</th>
              <th>Last sync</th>
            </tr>
          </thead>
          <tbody>
            {page.nodes.map((a) => (
              <tr key={a.id} data-admin={a.email}>
                <td>{a.email}</td>
                <td>{a.displayName}</td>
                <td title={a.roles.map(words).join(', ')}>{words(a.role)}</td>
                <td>
                  <Badge value={a.status} />
                </td>
                <td>
                  {a.directory ? (
                    <Link to={`/directories/${a.directory.id}`}>{a.directory.name}</Link>
                  ) : (
                    <span className="muted">manual</span>
                  )}
                </td>
                <td>
                  <Time iso={a.syncedAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {page ? (
        <Pager
          page={pager.page}
          hasNext={page.pageInfo.hasNextPage}
          onNext={() => pager.next(page.pageInfo.endCursor)}
          onPrevious={pager.previous}
          onFirst={pager.first}
        />
      ) : null}
    </section>
  );
}
