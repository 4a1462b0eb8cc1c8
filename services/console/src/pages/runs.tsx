import { useQuery } from '@apollo/client/react';
import { DIRECTORIES, RUNS } from '../graphql/operations.js';
import { plural } from '../lib/format.js';
import { useCursorPager } from '../lib/paging.js';
import { setQuery, useLocation } from '../lib/router.js';
import { PageHeader } from '../ui/components.js';
import { PagedList } from '../ui/paged-list.js';
import { RunTable } from '../ui/run-bits.js';

const STATUSES = ['COMPLETED', 'FAILED', 'BLOCKED', 'REJECTED', 'RUNNING', 'QUEUED'];

/** Every directory's runs, newest first, filtered by directory and status (kept in the URL). */
export function RunsPage() {
  const { query } = useLocation();
  const directoryId = query.get('directory') || null;
  const status = query.get('status') || null;
  const pager = useCursorPager(`${directoryId}|${status}`);
  const dirs = useQuery(DIRECTORIES);
  const { data, error, loading } = useQuery(RUNS, {
    variables: { directoryId, status: status ? [status] : null, after: pager.after, first: 50 },
    pollInterval: 5_000,
  });
  const runs = data?.runs;
  return (
    <section>
      <PageHeader title="Runs" />
      <div className="filters">
        <select
          aria-label="directory"
          value={directoryId ?? ''}
          onChange={(e) => setQuery({ directory: e.target.value })}
        >
          <option value="">all directories</option>
          {dirs.data?.directories.nodes.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name}
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
              {s.toLowerCase()}
            </option>
          ))}
        </select>
        {runs ? <span className="muted">{plural(runs.totalCount, 'run')}</span> : null}
      </div>
      <PagedList page={runs} pager={pager} error={error} loading={loading} empty="No runs match.">
        {(nodes) => <RunTable runs={nodes} showDirectory />}
      </PagedList>
    </section>
  );
}
