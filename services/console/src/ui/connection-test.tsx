import type { ConnectionTest } from '../graphql/operations.js';
import { duration, words } from '../lib/format.js';
import { Badge } from './components.js';

/** Each step a connection test took, in order, with what is wrong where a step failed. */
export function ConnectionTestResult({ test }: { test: ConnectionTest }) {
  return (
    <div className={`connection-test ${test.ok ? 'ok' : 'failed'}`} data-testid="connection-test">
      <p role="status">
        <Badge value={test.ok ? 'OK' : 'FAILED'} />{' '}
        {test.ok
          ? 'The connector reached the source and found everything a sync needs.'
          : 'A sync would fail: see the failed step.'}{' '}
        <span className="muted">{duration(test.durationMs)}</span>
      </p>
      <table className="table checks">
        <tbody>
          {test.checks.map((c, i) => (
            <tr key={`${c.name}-${i}`} data-check={c.name} data-check-status={c.status}>
              <td>
                <Badge value={c.status} />
              </td>
              <td>{words(c.name)}</td>
              <td className="mono small">{c.target}</td>
              <td>
                {c.code ? <code className="error-code">{c.code} </code> : null}
                {c.message}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
