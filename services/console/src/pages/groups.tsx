import { useQuery } from '@apollo/client/react';
import { GROUP, GROUPS } from '../graphql/operations.js';
import { number } from '../lib/format.js';
import { useCursorPager } from '../lib/paging.js';
import { Link, useLocation } from '../lib/router.js';
import { Badge, Dl, Empty, ErrorBox, Loading, PageHeader, Pager, Time } from '../ui/components.js';
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
        {page ? <span className="muted">{number(page.totalCount)} groups</span> : null}
      </PageHeader>
      <div className="filters">
        <SearchBox placeholder="name or description" />
        <DirectorySelect />
      </div>
      <ErrorBox error={error} />
      {loading && !page ? <Loading /> : null}
      {page && page.nodes.length === 0 ? <Empty>No groups match.</Empty> : null}
      {page?.nodes.length ? (
        <table className="table groups">
          <thead>
            <tr>
              <th>Name</th>
              <th>Description</th>
              <th>Members</th>
              <th>Directory</th>
            </tr>
          </thead>
          <tbody>
            {page.nodes.map((g) => (
              <tr key={g.id} data-group={g.name}>
                <td>
                  <Link to={`/groups/${g.id}`}>{g.name}</Link>
                </td>
                <td>{g.description}</td>
                <td className="num">{number(g.memberCount)}</td>
                <td>{g.directory?.name}</td>
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
            ['Members', `${number(g.memberCount)} (nested groups expanded)`],
            ['Updated', <Time iso={g.updatedAt} />],
          ]}
        />
      </div>
      <div className="card">
        <h2>Members</h2>
        {g.members.nodes.length === 0 ? <Empty>No members.</Empty> : null}
        {g.members.nodes.length ? (
          <table className="table members">
            <tbody>
              {g.members.nodes.map((m) => (
                <tr key={m.id}>
                  <td>
                    <Link to={`/users/${m.id}`}>{m.username}</Link>
                  </td>
                  <td>{m.displayName}</td>
                  <td>
                    <Badge value={m.status} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        <Pager
          page={pager.page}
          hasNext={g.members.pageInfo.hasNextPage}
          onNext={() => pager.next(g.members.pageInfo.endCursor)}
          onPrevious={pager.previous}
          onFirst={pager.first}
        />
      </div>
    </section>
  );
}
