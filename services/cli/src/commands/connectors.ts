import type { Command } from 'commander';
import { formatDate, formatTable, plural, printJson } from '../output.js';
import type { Action } from './action.js';

interface ConnectorRow {
  kind: string;
  instance: string;
  version: string | null;
  startedAt: string | null;
  lastSeenAt: string;
  state: 'ALIVE' | 'STALE';
  runIds: string[];
}

export function registerConnectors(program: Command, act: Action): void {
  program
    .command('connectors')
    .description(
      'the connector processes that report in (ALIVE, or STALE when silent); a directory whose kind has none ALIVE fails its syncs with NO_CONNECTOR',
    )
    .option('-k, --kind <kind>', 'only this kind, e.g. ldap or entra')
    .action(
      act(async (ctx, opts: { kind?: string }) => {
        const kind = opts.kind?.trim().toLowerCase() || null;
        const { connectors } = await ctx.client.request<{ connectors: ConnectorRow[] }>(
          `query($kind: String) { connectors(kind: $kind) {
             kind instance version startedAt lastSeenAt state runIds } }`,
          { kind },
        );
        if (ctx.json) return printJson(ctx.io, connectors);
        if (connectors.length > 0) {
          ctx.io.stdout.write(
            formatTable(
              ['kind', 'instance', 'version', 'state', 'started', 'last seen', 'runs'],
              connectors.map((c) => [
                c.kind,
                c.instance,
                c.version,
                c.state,
                formatDate(c.startedAt),
                formatDate(c.lastSeenAt),
                c.runIds.length ? c.runIds.join(' ') : 'idle',
              ]),
            ),
          );
        }
        const alive = connectors.filter((c) => c.state === 'ALIVE').length;
        if (alive === 0) {
          ctx.io.stderr.write(
            `no ${kind ? `connector-${kind} ` : 'connector '}process is running: syncs of ${kind ? 'such' : 'any'} directories fail with NO_CONNECTOR; start services/connector-${kind ?? '<kind>'}\n`,
          );
        } else {
          ctx.io.stderr.write(
            `${plural(alive, 'connector process', 'connector processes')} alive\n`,
          );
        }
      }),
    );
}
