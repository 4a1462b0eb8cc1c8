import { Arg, Ctx, Query, Resolver } from 'type-graphql';
import { Permission } from '@dirsync/kit/auth';
import { Guard } from '@dirsync/kit/graphql';
import type { SyncContext, SyncServices } from '../services.js';
import { ConnectorObject } from './connector.type.js';
import type { ConnectorInstance } from './presence.js';

/** A presence row as the API shows it. */
export function toConnectorNode(c: ConnectorInstance): ConnectorObject {
  return {
    kind: c.kind,
    instance: c.instance,
    version: c.version || null,
    startedAt: c.startedAt,
    firstSeenAt: c.firstSeenAt,
    lastSeenAt: c.lastSeenAt,
    heartbeatSeconds: Math.max(1, Math.round(c.intervalMs / 1000)),
    state: c.state,
    runIds: c.runIds,
  };
}

@Resolver(() => ConnectorObject)
export class ConnectorResolver {
  constructor(private readonly s: SyncServices) {}

  @Guard(Permission.READ)
  @Query(() => [ConnectorObject], {
    description:
      'The connector processes that report in, by kind, most recently heard from first: ALIVE, or STALE (silent for three heartbeat intervals; forgotten after an hour). One that stopped gracefully is not listed.',
  })
  async connectors(
    @Arg('kind', () => String, {
      nullable: true,
      description: 'Only this kind, e.g. "ldap".',
    })
    kind: string | null | undefined,
    @Ctx() _ctx: SyncContext,
  ): Promise<ConnectorObject[]> {
    return (await this.s.presence.list(kind ?? undefined)).map(toConnectorNode);
  }
}
