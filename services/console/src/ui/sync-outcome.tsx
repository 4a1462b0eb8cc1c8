import type { RunChange } from '../graphql/operations.js';
import { plural } from '../lib/format.js';
import { Link } from '../lib/router.js';
import { ChangesTable } from './changes.js';
import { Badge } from './components.js';

/** The run of a syncUser / syncAdmin answer, with the plan when it was a dry run. */
export interface SyncOutcomeRun {
  id: string;
  dryRun: boolean;
  errorCode: string | null;
  errorMessage: string | null;
  changes?: { totalCount: number; nodes: RunChange[] };
}

/**
 * What syncing one user or administrator did — or, for a dry run, would do: the outcome, the
 * record, the run and its error; a dry run is marked as one and lists its planned changes.
 */
export function SyncOutcome({
  outcome,
  run,
  link,
}: {
  outcome: string;
  run: SyncOutcomeRun;
  link?: { to: string; label: string };
}) {
  const planned = run.dryRun ? run.changes : undefined;
  return (
    <div
      className="outcome"
      data-outcome={outcome}
      data-dry-run={run.dryRun ? 'true' : undefined}
      role="status"
    >
      {run.dryRun ? <span className="badge badge-dry-run">dry run</span> : null}{' '}
      <Badge value={outcome} /> {link ? <Link to={link.to}>{link.label}</Link> : null}{' '}
      <Link to={`/runs/${run.id}`} className="muted">
        run
      </Link>
      {run.errorCode ? (
        <span className="field-error">
          {' '}
          <code>{run.errorCode}</code> {run.errorMessage}
        </span>
      ) : null}
      {run.dryRun ? (
        <p className="notice" data-testid="sync-one-plan">
          A dry run: what a sync of this user would do ({plural(planned?.totalCount ?? 0, 'change')}
          ); nobody was changed.
        </p>
      ) : null}
      {planned?.nodes.length ? <ChangesTable changes={planned.nodes} /> : null}
    </div>
  );
}
