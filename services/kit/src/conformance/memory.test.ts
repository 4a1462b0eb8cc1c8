// The conformance suite run against a tiny in-memory source: proves the suite and the kit's
// worker on their own, independent of any real connector. The source keeps a snapshot per
// cursor it hands out, so its DELTA runs report exactly what changed since.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { CheckName, ErrorCode, SyncMode, type AdminRole } from '@dirsync/proto';
import { DirsyncError } from '../errors.js';
import { CursorRejectedError, type SourceConnector } from '../connector/types.js';
import { runConnectorConformance, type FixtureUser, type SourceFixture } from './suite.js';

interface MemoryUser extends FixtureUser {
  id: string;
}
interface MemoryGroup {
  id: string;
  name: string;
  members: Set<string>;
  groups: Set<string>;
}

const PASSWORD = 'memory-secret-Pa55';
const users = new Map<string, MemoryUser>();
const groups = new Map<string, MemoryGroup>();

const settingsSchema = z.object({ source: z.enum(['memory', 'unreachable']) }).strict();

interface Snapshot {
  /** user id → its record as last handed over */
  users: Map<string, string>;
  /** group id → name */
  groups: Map<string, string>;
  /** group id → transitive member user ids */
  members: Map<string, Set<string>>;
}

/** What the source looked like at each cursor handed out (the memory source's change log). */
const snapshots = new Map<string, Snapshot>();
let nextCursor = 0;

const memoryConnector: SourceConnector<z.infer<typeof settingsSchema>> = {
  kind: 'memory',
  settingsSchema,
  requiredSecrets: ['password'],
  offersDelta: true,
  // The connection test in its simplest form: one ctx.check per step, a DirsyncError for a
  // failure, ctx.skip for what depends on it.
  async check(ctx) {
    const reached = await ctx.check(CheckName.REACH, 'memory', async () => {
      if (ctx.settings.source === 'unreachable') {
        throw new DirsyncError(ErrorCode.SOURCE_UNREACHABLE, 'memory source is unreachable');
      }
      return 'the memory source answers';
    });
    const bound =
      reached &&
      (await ctx.check(CheckName.BIND, 'memory', async () => {
        if (ctx.secrets.password !== PASSWORD) {
          throw new DirsyncError(ErrorCode.INVALID_CREDENTIALS, 'wrong password for memory source');
        }
        return 'the password is accepted';
      }));
    for (const key of ctx.directory.selectedGroups) {
      if (!bound) ctx.skip(CheckName.GROUP, key, 'needs the memory source and its password');
      else {
        await ctx.check(CheckName.GROUP, key, async () => {
          if (!groups.has(key)) {
            throw new DirsyncError(ErrorCode.GROUP_NOT_FOUND, `group ${key} does not exist`);
          }
          return `found group ${key}`;
        });
      }
    }
  },
  async run({ settings, secrets, directory, job, mode, sink }) {
    if (settings.source === 'unreachable') {
      throw new DirsyncError(ErrorCode.SOURCE_UNREACHABLE, 'memory source is unreachable');
    }
    if (secrets.password !== PASSWORD) {
      throw new DirsyncError(ErrorCode.INVALID_CREDENTIALS, 'wrong password for memory source');
    }
    const since = mode === SyncMode.DELTA ? snapshots.get(directory.cursor) : undefined;
    if (mode === SyncMode.DELTA && !since) throw new CursorRejectedError('unknown cursor');
    const observed = new Map<string, Set<string>>();
    const expand = (key: string, seen: Set<string>): Set<string> => {
      const g = groups.get(key);
      const out = new Set<string>();
      if (!g || seen.has(key)) return out;
      seen.add(key);
      for (const m of g.members) if (users.has(m)) out.add(m);
      for (const sub of g.groups) for (const m of expand(sub, seen)) out.add(m);
      observed.set(key, out);
      return out;
    };
    if (mode === SyncMode.ADMIN) {
      const rolesOf = new Map<string, AdminRole[]>();
      for (const { role, groups: keys } of directory.adminRoleGroups) {
        for (const key of keys) {
          if (!groups.has(key)) {
            throw new DirsyncError(ErrorCode.GROUP_NOT_FOUND, `group ${key} does not exist`);
          }
          for (const m of expand(key, new Set())) rolesOf.set(m, [...(rolesOf.get(m) ?? []), role]);
        }
      }
      for (const [key, roles] of rolesOf) {
        const u = users.get(key);
        if (!u || (job.email && u.email?.toLowerCase() !== job.email.toLowerCase())) continue;
        await sink.admin({
          externalId: u.id,
          email: u.email,
          roles,
          firstName: u.firstName,
          lastName: u.lastName,
          displayName: u.displayName,
          sourceLocator: `memory:${key}`,
        });
      }
      return {};
    }
    for (const key of directory.selectedGroups) {
      if (!groups.has(key)) {
        throw new DirsyncError(ErrorCode.GROUP_NOT_FOUND, `group ${key} does not exist`);
      }
      expand(key, new Set());
    }
    const inScope = new Set([...observed.values()].flatMap((s) => [...s]));
    const wanted =
      mode === SyncMode.USER
        ? [...inScope].filter(
            (k) => users.get(k)?.username?.toLowerCase() === job.username.toLowerCase(),
          )
        : [...inScope];
    const now: Snapshot = { users: new Map(), groups: new Map(), members: new Map() };
    for (const key of wanted) {
      const u = users.get(key);
      if (!u) continue;
      const record = JSON.stringify({ ...u, key: undefined });
      now.users.set(u.id, record);
      if (since?.users.get(u.id) === record) continue;
      await sink.user({
        externalId: u.id,
        username: u.username,
        email: u.email,
        firstName: u.firstName,
        lastName: u.lastName,
        displayName: u.displayName,
        phones: (u.phones ?? []).map((value) => ({ value, kind: 'phone' })),
        sourceLocator: `memory:${key}`,
      });
    }
    const wantedSet = new Set(wanted);
    for (const [key, members] of observed) {
      const g = groups.get(key);
      if (!g) continue;
      const ids = [...members].filter((m) => wantedSet.has(m)).map((m) => users.get(m)?.id ?? '');
      if (mode === SyncMode.USER && ids.length === 0) continue;
      now.groups.set(g.id, g.name);
      now.members.set(g.id, new Set(ids));
      if (since?.groups.get(g.id) !== g.name) {
        await sink.group({ externalId: g.id, name: g.name, sourceLocator: `memory:${key}` });
      }
      if (!since) {
        await sink.members(g.id, ids);
        continue;
      }
      const before = since.members.get(g.id) ?? new Set<string>();
      const added = ids.filter((id) => !before.has(id));
      const removed = [...before].filter((id) => !now.members.get(g.id)?.has(id));
      if (added.length || removed.length) await sink.membershipDelta(g.id, { added, removed });
    }
    if (since) {
      const exists = (id: string, of: Iterable<{ id: string }>) => [...of].some((x) => x.id === id);
      for (const id of since.groups.keys()) {
        if (now.groups.has(id)) continue;
        const reason = exists(id, groups.values()) ? 'outOfScope' : 'deleted';
        await sink.removeGroup({ externalId: id, reason });
      }
      for (const id of since.users.keys()) {
        if (now.users.has(id)) continue;
        const reason = exists(id, users.values()) ? 'outOfScope' : 'deleted';
        await sink.removeUser({ externalId: id, reason });
      }
    }
    if (mode === SyncMode.USER) return {};
    const cursor = `v${++nextCursor}`;
    snapshots.set(cursor, now);
    return { cursor };
  },
};

function seed(f: SourceFixture): void {
  users.clear();
  groups.clear();
  for (const u of f.users) users.set(u.key, { ...u, id: randomUUID() });
  for (const g of f.groups) {
    groups.set(g.key, {
      id: randomUUID(),
      name: g.name,
      members: new Set(g.members),
      groups: new Set(g.groups),
    });
  }
}

runConnectorConformance({
  name: 'in-memory',
  connector: () => memoryConnector,
  seed: async (f) => seed(f),
  mutate: async (mutations) => {
    for (const m of mutations) {
      if (m.op === 'addMember') groups.get(m.group)?.members.add(m.user);
      if (m.op === 'removeMember') groups.get(m.group)?.members.delete(m.user);
      if (m.op === 'deleteUser') {
        users.delete(m.user);
        for (const g of groups.values()) g.members.delete(m.user);
      }
      if (m.op === 'removeSubgroup') groups.get(m.group)?.groups.delete(m.subgroup);
      if (m.op === 'updateUser') {
        const u = users.get(m.user);
        if (u) users.set(m.user, { ...u, ...m.changes });
      }
    }
  },
  directoryConfig: ({ selectedGroups, failure }) => ({
    settings: { source: failure === 'unreachable' ? 'unreachable' : 'memory' },
    secrets: { password: failure === 'bad-credentials' ? 'wrong-password-XYZ' : PASSWORD },
    selectedGroups,
    mapping: {},
  }),
  delta: { rejectedCursor: () => 'v-forgotten' },
  admins: true,
  invalidSettings: () => ({
    settings: { source: 'elsewhere', colour: 'blue' },
    fields: ['source', 'colour'],
  }),
});
