import { ErrorCode, SyncMode } from '@dirsync/proto';
import {
  DirsyncError,
  entraSettingsSchema,
  type EntraSettings,
  type RunContext,
  type RunResult,
  type SourceConnector,
} from '@dirsync/kit';
import { GraphSession, type RetryPolicy } from './graph.js';
import { readAdmins } from './admins.js';
import { readDelta } from './delta.js';
import { TenantReader } from './reader.js';
import { checkEntra } from './check.js';

export interface EntraConnectorOptions {
  /** Overrides every directory's `pageSize` (operator knob, `GRAPH_PAGE_SIZE`). */
  pageSize?: number;
  /** How Graph requests are retried (tests shorten the back-off). */
  retry?: Partial<RetryPolicy>;
}

/**
 * The Microsoft Entra ID connector: reads the selected groups' transitive members through
 * Microsoft Graph with an app registration's client credentials (`clientSecret` or
 * `clientCertificate`); ADMIN runs read the admin role groups' transitive members (`admins.ts`).
 */
export function createEntraConnector(
  opts: EntraConnectorOptions = {},
): SourceConnector<EntraSettings> {
  return {
    kind: 'entra',
    settingsSchema: entraSettingsSchema,
    modes: [SyncMode.FULL, SyncMode.USER, SyncMode.ADMIN],
    offersDelta: true,
    check: (ctx) => checkEntra(ctx, { retry: opts.retry }),
    async run(ctx: RunContext<EntraSettings>): Promise<RunResult> {
      const secretName = ctx.settings.credential;
      const secret = ctx.secrets[secretName];
      if (!secret) {
        throw new DirsyncError(ErrorCode.CONFIG_INVALID, `the secret "${secretName}" is not set`);
      }
      const graph = new GraphSession({
        settings: ctx.settings,
        secret,
        signal: ctx.signal,
        logger: ctx.logger,
        retry: opts.retry,
        report: ctx.report,
      });
      try {
        const reader = new TenantReader(ctx, graph, opts.pageSize ?? ctx.settings.pageSize);
        if (ctx.mode === SyncMode.USER) {
          await reader.user(ctx.job.username);
          return {};
        }
        if (ctx.mode === SyncMode.ADMIN) {
          // Administrators only: no users, groups or cursor (the delta links stay as they are).
          await readAdmins(reader, ctx.job.email.trim() || undefined);
          return {};
        }
        if (ctx.mode === SyncMode.DELTA) {
          const cursor = await readDelta(reader, ctx.directory.cursor);
          ctx.logger.debug({ retries: graph.retries }, 'Graph delta reading done');
          return { cursor };
        }
        // The delta links come first: what changes while the full read runs is read again by
        // the next DELTA run rather than lost.
        const cursor = await reader.deltaCursor();
        await reader.full();
        ctx.logger.debug({ retries: graph.retries }, 'Graph reading done');
        return { cursor };
      } finally {
        graph.close();
      }
    },
  };
}
