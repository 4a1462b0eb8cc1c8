import { EntitySchema } from '@mikro-orm/core';

/**
 * Identity's view of a sync run: what it has applied so far. `sync` owns the run itself; this
 * row exists so that events are applied once and the run's counts survive a restart.
 */
export class Run {
  runId!: string;
  directoryId!: string;
  /** SyncMode name without prefix: FULL, DELTA, USER, ... */
  mode!: string;
  username!: string | null;
  dryRun!: boolean;
  status!: 'RUNNING' | 'COMPLETED' | 'FAILED';
  /** Cumulative RunCounts (protobuf JSON field names). */
  counts!: Record<string, number>;
  restoreWindowDays!: number;
  /** Seq of the last RunUpdate written to the outbox. */
  updateSeq!: number;
  lastSeq!: number | null;
  cursor!: string | null;
  errorCode!: string | null;
  errorMessage!: string | null;
  userOutcome!: string | null;
  userId!: string | null;
  startedAt!: Date;
  finishedAt!: Date | null;
  updatedAt!: Date;
}

export const RunSchema = new EntitySchema<Run>({
  class: Run,
  tableName: 'runs',
  properties: {
    runId: { type: 'text', primary: true },
    directoryId: { type: 'text' },
    mode: { type: 'text' },
    username: { type: 'text', nullable: true },
    dryRun: { type: 'boolean' },
    status: { type: 'text' },
    counts: { type: 'json' },
    restoreWindowDays: { type: 'integer' },
    updateSeq: { type: 'integer' },
    lastSeq: { type: 'integer', nullable: true },
    cursor: { type: 'text', nullable: true },
    errorCode: { type: 'text', nullable: true },
    errorMessage: { type: 'text', nullable: true },
    userOutcome: { type: 'text', nullable: true },
    userId: { type: 'uuid', nullable: true },
    startedAt: { type: 'datetime', columnType: 'timestamptz' },
    finishedAt: { type: 'datetime', columnType: 'timestamptz', nullable: true },
    updatedAt: { type: 'datetime', columnType: 'timestamptz' },
  },
});

/** The last completed syncs of a directory (what `User.lastDirectorySync` reads). */
export class DirectoryState {
  directoryId!: string;
  lastFullRunId!: string | null;
  lastFullSyncAt!: Date | null;
  lastSyncAt!: Date | null;
}

export const DirectoryStateSchema = new EntitySchema<DirectoryState>({
  class: DirectoryState,
  tableName: 'directory_state',
  properties: {
    directoryId: { type: 'text', primary: true },
    lastFullRunId: { type: 'text', nullable: true },
    lastFullSyncAt: { type: 'datetime', columnType: 'timestamptz', nullable: true },
    lastSyncAt: { type: 'datetime', columnType: 'timestamptz', nullable: true },
  },
});
