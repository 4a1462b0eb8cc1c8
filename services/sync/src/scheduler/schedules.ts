import type { Directory } from '../directory/directory.entity.js';
import type { RunMode } from '../run/run.entity.js';

type IntervalProperty =
  | 'scheduleIntervalMinutes'
  | 'adminScheduleIntervalMinutes'
  | 'deltaIntervalMinutes';
type NextProperty = 'nextRunAt' | 'nextAdminRunAt' | 'nextDeltaRunAt';

/**
 * The kinds of schedule a directory has. Each is an interval and a due time on the directory
 * row; the scheduler treats them all alike. A new kind (e.g. DELTA) is one entry here, two
 * columns and its field in the directory API.
 */
export interface ScheduleKind {
  /** Also the mode of the run it starts. */
  readonly mode: RunMode;
  /** The interval in minutes (0 = not scheduled): entity property and column. */
  readonly intervalProperty: IntervalProperty;
  readonly intervalColumn: string;
  /** When the next run is due (null = not scheduled): entity property and column. */
  readonly nextProperty: NextProperty;
  readonly nextColumn: string;
  /** SQL condition on the directory row `d` for the schedule to apply at all. */
  readonly appliesSql: string;
  /** The same condition on a directory in memory. */
  applies(d: Pick<Directory, 'kind' | 'adminRoleGroups'>): boolean;
}

/**
 * In priority order: when two schedules of a directory are due at the same time, the first one
 * starts (a directory has one active run at a time); the other starts once that run has ended.
 */
export const SCHEDULES: readonly ScheduleKind[] = [
  {
    mode: 'FULL',
    intervalProperty: 'scheduleIntervalMinutes',
    intervalColumn: 'schedule_interval_minutes',
    nextProperty: 'nextRunAt',
    nextColumn: 'next_run_at',
    appliesSql: 'true',
    applies: () => true,
  },
  {
    mode: 'ADMIN',
    intervalProperty: 'adminScheduleIntervalMinutes',
    intervalColumn: 'admin_schedule_interval_minutes',
    nextProperty: 'nextAdminRunAt',
    nextColumn: 'next_admin_run_at',
    // Administrators are never synced from SCIM sources, and only when role groups are mapped.
    appliesSql: `d.kind <> 'SCIM' and jsonb_array_length(d.admin_role_groups) > 0`,
    applies: (d) => d.kind !== 'SCIM' && d.adminRoleGroups.length > 0,
  },
  {
    // Last: the most frequent and the cheapest; a due FULL or ADMIN run goes first (a FULL run
    // reads everything a delta would).
    mode: 'DELTA',
    intervalProperty: 'deltaIntervalMinutes',
    intervalColumn: 'delta_interval_minutes',
    nextProperty: 'nextDeltaRunAt',
    nextColumn: 'next_delta_run_at',
    // SCIM sources push their changes; there is nothing to poll.
    appliesSql: `d.kind <> 'SCIM'`,
    applies: (d) => d.kind !== 'SCIM',
  },
];

/**
 * The schedule a run belongs to: FULL, DELTA and full ADMIN runs (no e-mail) do; others none.
 */
export function scheduleOf(req: {
  mode: RunMode;
  email?: string | undefined;
}): ScheduleKind | undefined {
  if (req.mode === 'ADMIN' && req.email !== undefined) return undefined;
  return SCHEDULES.find((k) => k.mode === req.mode);
}

type ScheduledFields = Pick<
  Directory,
  'enabled' | 'kind' | 'adminRoleGroups' | IntervalProperty | NextProperty
>;

/** When a schedule is next due after a change at `now` (creation, new interval, enabled). */
export function nextDue(now: Date, d: Omit<ScheduledFields, NextProperty>, kind: ScheduleKind) {
  const minutes = d[kind.intervalProperty];
  return d.enabled && minutes > 0 && kind.applies(d)
    ? new Date(now.getTime() + minutes * 60_000)
    : null;
}

/**
 * The due times of every schedule after a change from `before` to `after` at `now`: a schedule
 * whose interval, enabled state or applicability changed starts counting from now; the others
 * keep their due time.
 */
export function rescheduled(
  now: Date,
  before: ScheduledFields | undefined,
  after: Omit<ScheduledFields, NextProperty>,
): Partial<Record<NextProperty, Date | null>> {
  const out: Partial<Record<NextProperty, Date | null>> = {};
  for (const kind of SCHEDULES) {
    const changed =
      !before ||
      before.enabled !== after.enabled ||
      before[kind.intervalProperty] !== after[kind.intervalProperty] ||
      kind.applies(before) !== kind.applies(after);
    if (changed) out[kind.nextProperty] = nextDue(now, after, kind);
  }
  return out;
}
