import { describe, expect, it } from 'vitest';
import type { Run, RunCounts } from '../queries.js';
import { progressLine } from './sync.js';

const counts = (c: Partial<RunCounts>): RunCounts =>
  ({ seen: 0, created: 0, updated: 0, errors: 0, groupsSeen: 0, adminsSeen: 0, ...c }) as RunCounts;

const run = (r: Partial<Run>): Run => ({ mode: 'FULL', status: 'RUNNING', ...r }) as Run;

describe('progressLine', () => {
  it("a dry run says whether it reads or plans, with what it has read, not the plan's zeros", () => {
    const read = counts({ seen: 500, groupsSeen: 3 });
    expect(progressLine(run({ dryRun: true, status: 'QUEUED', counts: counts({}) }), 1000)).toBe(
      `[${'.'.repeat(30)}] QUEUED    seen 0  groups 0`,
    );
    expect(progressLine(run({ dryRun: true, counts: read, connector: null }), 1000)).toBe(
      `[${'#'.repeat(15)}${'.'.repeat(15)}] RUNNING   reading…  seen 500  groups 3`,
    );
    expect(
      progressLine(
        run({ dryRun: true, counts: read, connector: { publishedAt: '2026-12-04T12:00:00Z' } }),
        1000,
      ),
    ).toBe(`[${'#'.repeat(15)}${'.'.repeat(15)}] RUNNING   planning… seen 500  groups 3`);
    // Completed: the plan's counts.
    expect(
      progressLine(
        run({ dryRun: true, status: 'COMPLETED', counts: counts({ seen: 1000, created: 7 }) }),
        1000,
      ),
    ).toBe(`[${'#'.repeat(30)}] COMPLETED seen 1000  created 7  updated 0  errors 0`);
  });

  it('a real run shows its counts as they grow', () => {
    expect(progressLine(run({ counts: counts({ seen: 10, created: 4, updated: 1 }) }), 20)).toBe(
      `[${'#'.repeat(15)}${'.'.repeat(15)}] RUNNING   seen 10  created 4  updated 1  errors 0`,
    );
  });
});
