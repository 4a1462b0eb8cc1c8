import type { RunSummary } from '../graphql/types.js';
import { duration, number } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { Badge, Time } from './components.js';

export const ACTIVE = ['QUEUED', 'RUNNING'];

/**
 * One line of what a run did: created/updated/… counts that are not zero. An ADMIN run counts
 * administrators (its user counts are all 0), so it shows those.
 */
export function CountsLine({ counts, mode }: { counts: RunSummary['counts']; mode: string }) {
  const parts: [string, number][] =
    mode === 'ADMIN'
      ? [
          ['admins seen', counts.adminsSeen],
          ['created', counts.adminsCreated],
          ['updated', counts.adminsUpdated],
          ['disabled', counts.adminsDisabled],
          ['pending deletion', counts.adminsPendingDeletion],
          ['restored', counts.adminsRestored],
          ['errors', counts.errors],
        ]
      : [
          ['seen', counts.seen],
          ['created', counts.created],
          ['updated', counts.updated],
          ['disabled', counts.disabled],
          ['pending deletion', counts.pendingDeletion],
          ['restored', counts.restored],
          ['errors', counts.errors],
          ['conflicts', counts.conflicts],
        ];
  return (
    <span className="counts-line">
      {parts
        .filter(([, v], i) => v > 0 || i === 0)
        .map(([k, v]) => (
          <span
            key={k}
            className={k === 'errors' || k === 'conflicts' ? 'count-errors' : undefined}
          >
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
              {/* A dry run ends COMPLETED even when a real run would have been BLOCKED: say so. */}
              {r.dryRun && r.removals ? (
                <span className="badge badge-blocked" data-status="WOULD_BLOCK">
                  dry run · would block
                </span>
              ) : (
                <Badge value={r.status} />
              )}
              {r.errorCode ? <code className="error-code"> {r.errorCode}</code> : null}
            </td>
            <td>
              <Time iso={r.queuedAt} />
            </td>
            <td>{ACTIVE.includes(r.status) ? '…' : duration(r.durationMs)}</td>
            <td>
              <CountsLine counts={r.counts} mode={r.mode} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
