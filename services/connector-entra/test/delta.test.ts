// DELTA runs against the fake tenant: Graph's users and groups delta links as the cursor,
// changes, removals and membership changes translated for the selected scope, expired and reset
// delta links recovered with a full read, a group repeated across delta pages applied once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FullReadReason, RemovalReason, SyncMode } from '@dirsync/proto';
import type { CollectedRun, ConnectorHarness } from '@dirsync/kit/conformance';
import {
  directoryConfig,
  entraHarness,
  newDirectoryId,
  startFakeTenant,
  type FakeTenant,
} from './helpers.js';

describe('connector-entra DELTA runs', () => {
  let t: FakeTenant;
  let h: ConnectorHarness;
  const dir = newDirectoryId();
  let cursor = '';
  const ids: Record<string, string> = {};

  const run = (mode: SyncMode, from = cursor): Promise<CollectedRun> => {
    h.setConfig(dir, { ...directoryConfig(t, [ids.staff as string]), cursor: from });
    return h.run({ directoryId: dir, mode });
  };
  /** A completed DELTA run read as DELTA; its cursor becomes the next one. */
  const step = async (): Promise<CollectedRun> => {
    const r = await run(SyncMode.DELTA);
    expect(r.outcome.error).toBeUndefined();
    expect(r.completed?.readMode).toBe(SyncMode.DELTA);
    cursor = r.completed?.cursor ?? '';
    expect(cursor).not.toBe('');
    return r;
  };
  const names = (r: CollectedRun) => r.users.map((u) => u.username).sort();
  const removals = (r: CollectedRun) =>
    r.userRemovals.map((x) => [x.externalId, RemovalReason[x.reason]]).sort();
  const deltaOf = (r: CollectedRun, group: string) => {
    const d = r.membershipDeltas.get(ids[group] as string);
    return { added: [...(d?.added ?? [])].sort(), removed: [...(d?.removed ?? [])].sort() };
  };

  beforeAll(async () => {
    t = await startFakeTenant();
    // Small delta pages and member slices: a group with many changed members repeats.
    await t.admin.settings({ deltaPageSize: 2, deltaMembersPerEntry: 2 });
    h = await entraHarness({ batchSize: 50 });
    const users = await t.admin.addUsers(
      ['ada', 'bob', 'cyd', 'dee', 'eve', 'fay', 'gus', 'hal', 'ivy', 'jon'].map((n) => ({
        userPrincipalName: `${n}@contoso.example`,
        givenName: n,
      })),
    );
    for (const u of users) ids[String(u.userPrincipalName).split('@')[0] as string] = String(u.id);
    const [staff, eng, ops] = await t.admin.addGroups([
      { displayName: 'Staff' },
      { displayName: 'Engineering' },
      { displayName: 'Ops' },
    ]);
    Object.assign(ids, { staff: String(staff?.id), eng: String(eng?.id), ops: String(ops?.id) });
    await t.admin.addMembers(ids.staff as string, [ids.ada as string, ids.eng as string]);
    await t.admin.addMembers(ids.eng as string, [ids.bob as string, ids.cyd as string]);
    await t.admin.addMembers(ids.ops as string, [ids.dee as string]);
    const full = await run(SyncMode.FULL, '');
    expect(names(full)).toEqual([
      'ada@contoso.example',
      'bob@contoso.example',
      'cyd@contoso.example',
    ]);
    cursor = full.completed?.cursor ?? '';
  });

  afterAll(async () => {
    await h?.close();
    await t?.close();
  });

  it('reads nothing when nothing changed: two delta requests, no member reads', async () => {
    await t.admin.clearStats();
    const r = await step();
    expect(r.users).toHaveLength(0);
    expect(r.membershipDeltas.size).toBe(0);
    const routes = Object.keys((await t.admin.stats()).byRoute).sort();
    expect(routes).toEqual(['GET /groups/delta', 'GET /users/delta']);
  });

  it('sends a changed user in full, not only the changed property', async () => {
    await t.admin.updateUser(ids.bob as string, { surname: 'Builder' });
    const r = await step();
    expect(r.users.map((u) => [u.username, u.firstName, u.lastName])).toEqual([
      ['bob@contoso.example', 'bob', 'Builder'],
    ]);
  });

  it('ignores changes to users outside the scope', async () => {
    await t.admin.updateUser(ids.dee as string, { surname: 'Elsewhere' });
    const r = await step();
    expect(r.users).toHaveLength(0);
    expect(r.userRemovals).toHaveLength(0);
  });

  it('a nested group gaining many members: each user once, one membership delta per group', async () => {
    const many = ['eve', 'fay', 'gus', 'hal', 'ivy'].map((n) => ids[n] as string);
    await t.admin.addMembers(ids.eng as string, many);
    const r = await step();
    expect(names(r)).toEqual(
      ['eve', 'fay', 'gus', 'hal', 'ivy'].map((n) => `${n}@contoso.example`),
    );
    expect(new Set(r.users.map((u) => u.externalId)).size).toBe(5);
    expect(deltaOf(r, 'eng')).toEqual({ added: [...many].sort(), removed: [] });
    expect(deltaOf(r, 'staff')).toEqual({ added: [...many].sort(), removed: [] });
    expect(r.membershipDeltas.size).toBe(2);
  });

  it('a member leaving a nested group leaves the outer group too, and the scope', async () => {
    await t.admin.removeMember(ids.eng as string, ids.cyd as string);
    const r = await step();
    expect(removals(r)).toEqual([[ids.cyd, 'OUT_OF_SCOPE']]);
    expect(deltaOf(r, 'eng').removed).toEqual([ids.cyd]);
    expect(deltaOf(r, 'staff').removed).toEqual([ids.cyd]);
  });

  it('a deleted user is removed as DELETED', async () => {
    await t.admin.deleteUser(ids.eve as string, { hard: true });
    const r = await step();
    expect(removals(r)).toEqual([[ids.eve, 'DELETED']]);
    expect(r.users).toHaveLength(0);
  });

  it('a group nested into the scope brings its members; taken out, it takes them away', async () => {
    await t.admin.addMembers(ids.staff as string, [ids.ops as string]);
    const added = await step();
    expect(names(added)).toEqual(['dee@contoso.example']);
    expect(added.groups.map((g) => g.name)).toEqual(['Ops']);
    expect([...(added.memberships.get(ids.ops as string) ?? [])]).toEqual([ids.dee]);
    expect(deltaOf(added, 'staff').added).toEqual([ids.dee]);
    await t.admin.removeMember(ids.staff as string, ids.ops as string);
    const removed = await step();
    expect(removed.groupRemovals.map((g) => [g.externalId, RemovalReason[g.reason]])).toEqual([
      [ids.ops, 'OUT_OF_SCOPE'],
    ]);
    expect(removals(removed)).toEqual([[ids.dee, 'OUT_OF_SCOPE']]);
  });

  for (const [how, expire] of [
    ['expired (400 syncStateNotFound)', (t: FakeTenant) => t.admin.expireDeltaLinks()],
    ['reset (410 Gone resyncRequired)', (t: FakeTenant) => t.admin.resetDeltaLinks()],
  ] as const) {
    it(`recovers from an ${how} delta link with a full read, nobody lost or duplicated`, async () => {
      await t.admin.updateUser(ids.ada as string, { givenName: 'Ada' });
      await expire(t);
      const r = await run(SyncMode.DELTA);
      expect(r.outcome.error).toBeUndefined();
      expect(r.completed?.readMode).toBe(SyncMode.FULL);
      expect(r.completed?.fullReadReason).toBe(FullReadReason.CURSOR_REJECTED);
      expect(names(r)).toEqual(
        ['ada', 'bob', 'fay', 'gus', 'hal', 'ivy'].map((n) => `${n}@contoso.example`),
      );
      expect(new Set(r.users.map((u) => u.externalId)).size).toBe(r.users.length);
      expect(r.users.find((u) => u.externalId === ids.ada)?.firstName).toBe('Ada');
      cursor = r.completed?.cursor ?? '';
      const after = await step();
      expect(after.users).toHaveLength(0);
    });
  }

  it('a cursor for other selected groups is rejected: full read', async () => {
    h.setConfig(dir, { ...directoryConfig(t, [ids.eng as string]), cursor });
    const r = await h.run({ directoryId: dir, mode: SyncMode.DELTA });
    expect(r.completed?.fullReadReason).toBe(FullReadReason.CURSOR_REJECTED);
  });
});
