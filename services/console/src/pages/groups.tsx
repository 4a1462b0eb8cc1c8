import { useQuery } from '@apollo/client/react';
import { GROUP, GROUPS } from '../graphql/operations.js';
import { number, plural } from '../lib/format.js';
import { useCursorPager } from '../lib/paging.js';
import { Link, useLocation } from '../lib/router.js';
import { Badge, Dl, Empty, ErrorBox, Loading, PageHeader, Time } from '../ui/components.js';
import { PagedList, Table } from '../ui/paged-list.js';
import { DirectorySelect, SearchBox } from './users.js';

export function GroupsPage() {
  const { query } = useLocation();
  const filter = { search: query.get('q') || null, directoryId: query.get('directory') || null };
  const pager = useCursorPager(JSON.stringify(filter));
  const { data, error, loading, previousData } = useQuery(GROUPS, {
    variables: { filter, after: pager.after, first: 50 },
  });
  const page = (data ?? previousData)?.groups;
  return (
    <section>
      <PageHeader title="Groups">
        {page ? <span className="muted">{plural(page.totalCount, 'group')}</span> : null}
      </PageHeader>
      <div className="filters">
        <SearchBox placeholder="name or description" />
        <DirectorySelect />
      </div>
      <PagedList page={page} pager={pager} error={error} loading={loading} empty="No groups match.">
        {(nodes) => (
          <Table
            className="groups"
            rows={nodes}
            rowAttributes={(g) => ({ 'data-group': g.name })}
            columns={[
              { header: 'Name', cell: (g) => <Link to={`/groups/${g.id}`}>{g.name}</Link> },
              { header: 'Description', cell: (g) => g.description },
              { header: 'Members', cell: (g) => number(g.memberCount), className: 'num' },
              { header: 'Directory', cell: (g) => g.directory?.name },
            ]}
          />
        )}
      </PagedList>
    </section>
  );
}

export function GroupPage({ id }: { id: string }) {
  const pager = useCursorPager(id);
  const { data, error, loading, previousData } = useQuery(GROUP, {
    variables: { id, after: pager.after },
  });
  const g = (data ?? previousData)?.group;
  if (loading && !g) return <Loading />;
  if (error && !g) return <ErrorBox error={error} />;
  if (!g) return <Empty>No group {id}.</Empty>;
  return (
    <section>
      <PageHeader title={g.name}>
        <Link to={`/users?group=${g.id}`}>Filter users by this group</Link>
      </PageHeader>
      <div className="card">
        <Dl
          items={[
            ['Description', g.description],
            [
              'Directory',
              g.directory ? (
                <Link to={`/directories/${g.directory.id}`}>{g.directory.name}</Link>
              ) : null,
            ],
            [
              'Location',
              g.sourceLocator ? <span className="mono small">{g.sourceLocator}</span> : null,
            ],
            ['Members', `${plural(g.memberCount, 'member')} (nested groups expanded)`],
            ['Updated', <Time iso={g.updatedAt} />],
          ]}
        />
      </div>
      <div className="card">
        <h2>Members</h2>
        <PagedList page={g.members} pager={pager} empty="No members." compactPager>
          {(nodes) => (
            <Table
              className="members"
              head={false}
              rows={nodes}
              columns={[
                {
                  header: 'Username',
                  cell: (m) => <Link to={`/users/${m.id}`}>{m.username}</Link>,
                },
                { header: 'Name', cell: (m) => m.displayName },
                { header: 'Status', cell: (m) => <Badge value={m.status} /> },
              ]}
            />
          )}
        </PagedList>
      </div>
    </section>
  );
}
