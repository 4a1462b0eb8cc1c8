import type { RunSummary } from '../graphql/types.js';
import { duration, number } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { Badge, Time } from './components.js';

export const ACTIVE = ['QUEUED', 'RUNNING'];

/** One line of what a run did: created/updated/… counts that are not zero. */
export function CountsLine({ counts }: { counts: RunSummary['counts'] }) {
  const parts: [string, number][] = [
    ['seen', counts.seen],
    ['created', counts.created],
    ['updated', counts.updated],
    ['disabled', counts.disabled],
    ['pending deletion', counts.pendingDeletion],
    ['restored', counts.restored],
    ['errors', counts.errors],
  ];
  return (
    <span className="counts-line">
      {parts
        .filter(([k, v]) => v > 0 || k === 'seen')
        .map(([k, v]) => (
          <span key={k} className={k === 'errors' ? 'count-errors' : undefined}>
            {k} <b>{number(v)}</b>
          </span>
        ))}
    </span>
  );
}

export function RunTable({ runs, showDirectory }: { runs: RunSummary[]; showDirectory?: boolean }) {
  return (
    <table className="table runs">
      <thead>
        <tr>
          <th>Run</th>
          {showDirectory ? <th>Directory</th> : null}
          <th>Mode</th>
          <th>Status</th>
          <th>Queued</th>
          <th>Duration</th>
          <th>Counts</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr key={r.id} data-run={r.id}>
            <td>
              <Link to={`/runs/${r.id}`}>
                <code>{r.id.slice(0, 8)}</code>
              </Link>
            </td>
            {showDirectory ? (
              <td>
                {r.directory ? (
                  <Link to={`/directories/${r.directory.id}`}>{r.directory.name}</Link>
                ) : null}
              </td>
            ) : null}
            <td>
              {r.mode.toLowerCase()}
              {r.dryRun ? <span className="badge">dry run</span> : null}
              {r.username ? ` · ${r.username}` : ''}
              {r.email ? ` · ${r.email}` : ''}
              {r.trigger === 'SCHEDULE' ? <span className="muted"> · scheduled</span> : null}
            </td>
            <td>
              <Badge value={r.status} />
              {r.errorCode ? <code className="error-code"> {r.errorCode}</code> : null}
            </td>
            <td>
              <Time iso={r.queuedAt} />
            </td>
            <td>{ACTIVE.includes(r.status) ? '…' : duration(r.durationMs)}</td>
            <td>
              <CountsLine counts={r.counts} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
