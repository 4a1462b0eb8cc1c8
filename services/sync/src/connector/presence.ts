import type { Logger } from '@dirsync/kit';
import type { SyncOrm } from '../db/orm.js';
import { sql, type Tables } from '../db/sql.js';
import type { DirectoryKind } from '../directory/directory.entity.js';

/** A connector's heartbeat interval when it does not say (the kit's default, 5 s). */
export const DEFAULT_CONNECTOR_INTERVAL_MS = 5_000;
/** Heartbeat intervals without one after which an instance is STALE. */
export const STALE_INTERVALS = 3;
/** An instance not heard from for this long is forgotten (its row deleted). */
export const FORGET_AFTER_SECONDS = 3_600;

/** The connector kind (jobs subject token, `connector-<kind>` package) of a directory kind. */
export const connectorKindOf = (kind: DirectoryKind): string => kind.toLowerCase();

/** ALIVE: heard from within three of its intervals; STALE: not since (killed, hung, cut off). */
export type ConnectorState = 'ALIVE' | 'STALE';

/** One connector process as the sync service last heard of it. */
export interface ConnectorInstance {
  kind: string;
  instance: string;
  version: string;
  startedAt: Date | null;
  firstSeenAt: Date;
  lastSeenAt: Date;
  intervalMs: number;
  state: ConnectorState;
  /** Active runs it holds (reported, not yet published). */
  runIds: string[];
}

/** What a heartbeat says about the process itself (proto ConnectorHeartbeat fields 1–2, 5–8). */
export interface PresenceReport {
  connectorKind: string;
  instanceId: string;
  startedAtMs?: number;
  version?: string;
  intervalMs?: number;
  stopping?: boolean;
}

interface PresenceRow {
  [column: string]: unknown;
  kind: string;
  instance: string;
  version: string;
  started_at: Date | null;
  first_seen_at: Date;
  last_seen_at: Date;
  interval_ms: number;
  run_ids: string[];
  stale: boolean;
}

/**
 * Connector presence: which connector processes are running, from their heartbeats (also sent
 * while idle), kept in Postgres (`connectors`) so every replica answers the same. Used by the
 * `connectors` query, `Directory.connector`, and the NO_CONNECTOR verdict on queued runs.
 */
export class ConnectorPresence {
  constructor(
    private readonly d: { orm: SyncOrm; tables: Tables; clock: () => Date; logger: Logger },
  ) {}

  /**
   * Record a heartbeat: upsert the instance (last seen now, the active runs it holds), or delete
   * it when it says it is stopping — it disappears at once instead of going stale.
   */
  async record(report: PresenceReport, heldRunIds: string[]): Promise<void> {
    const q = sql(this.d.orm.em.fork());
    const t = this.d.tables;
    if (report.stopping) {
      await q(`delete from ${t.connectors} where kind = ? and instance = ?`, [
        report.connectorKind,
        report.instanceId,
      ]);
      this.d.logger.info(
        { connector: report.connectorKind, instanceId: report.instanceId },
        'connector stopped',
      );
      return;
    }
    const now = this.d.clock();
    const startedAt = report.startedAtMs ? new Date(report.startedAtMs) : null;
    const interval =
      report.intervalMs && report.intervalMs > 0
        ? Math.min(report.intervalMs, 3_600_000)
        : DEFAULT_CONNECTOR_INTERVAL_MS;
    const rows = await q<{ inserted: boolean }>(
      `insert into ${t.connectors}
         (kind, instance, version, started_at, first_seen_at, last_seen_at, interval_ms, run_ids)
       values (?, ?, ?, ?, ?, ?, ?, array(select jsonb_array_elements_text(?::jsonb))::uuid[])
       on conflict (kind, instance) do update set
         version = excluded.version,
         started_at = coalesce(excluded.started_at, ${t.connectors}.started_at),
         last_seen_at = greatest(${t.connectors}.last_seen_at, excluded.last_seen_at),
         interval_ms = excluded.interval_ms,
         run_ids = excluded.run_ids
       returning (xmax = 0) as inserted`,
      [
        report.connectorKind,
        report.instanceId,
        report.version ?? '',
        startedAt,
        now,
        now,
        interval,
        JSON.stringify(heldRunIds),
      ],
    );
    if (rows[0]?.inserted) {
      this.d.logger.info(
        { connector: report.connectorKind, instanceId: report.instanceId },
        'connector reported in',
      );
    }
  }

  /** Instances, of one kind or all, by kind then most recently seen; `forget` old ones first. */
  async list(kind?: string): Promise<ConnectorInstance[]> {
    const now = this.d.clock();
    const t = this.d.tables;
    const rows = await sql(this.d.orm.em.fork())<PresenceRow>(
      `select kind, instance, version, started_at, first_seen_at, last_seen_at, interval_ms,
              run_ids::text[] as run_ids,
              last_seen_at < ?::timestamptz - interval_ms * ? * interval '1 millisecond' as stale
         from ${t.connectors}
        where (?::text is null or kind = ?)
          and last_seen_at >= ?::timestamptz - ? * interval '1 second'
        order by kind, last_seen_at desc, instance`,
      [now, STALE_INTERVALS, kind ?? null, kind ?? null, now, FORGET_AFTER_SECONDS],
    );
    return rows.map((r) => ({
      kind: r.kind,
      instance: r.instance,
      version: r.version,
      // Raw rows carry timestamps as text.
      startedAt: r.started_at === null ? null : new Date(r.started_at),
      firstSeenAt: new Date(r.first_seen_at),
      lastSeenAt: new Date(r.last_seen_at),
      intervalMs: r.interval_ms,
      state: r.stale ? 'STALE' : 'ALIVE',
      runIds: r.run_ids ?? [],
    }));
  }

  /** Delete instances not heard from for FORGET_AFTER_SECONDS; how many. */
  async forget(): Promise<number> {
    const rows = await sql(this.d.orm.em.fork())(
      `delete from ${this.d.tables.connectors}
        where last_seen_at < ?::timestamptz - ? * interval '1 second' returning kind`,
      [this.d.clock(), FORGET_AFTER_SECONDS],
    );
    return rows.length;
  }
}
