// The conformance suite run against a tiny in-memory source: proves the suite and the kit's
// worker on their own, independent of any real connector.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ErrorCode, SyncMode } from '@dirsync/proto';
import { DirsyncError } from '../errors.js';
import type { SourceConnector } from '../connector/types.js';
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

const memoryConnector: SourceConnector<z.infer<typeof settingsSchema>> = {
  kind: 'memory',
  settingsSchema,
  requiredSecrets: ['password'],
  async run({ settings, secrets, directory, job, sink }) {
    if (settings.source === 'unreachable') {
      throw new DirsyncError(ErrorCode.SOURCE_UNREACHABLE, 'memory source is unreachable');
    }
    if (secrets.password !== PASSWORD) {
      throw new DirsyncError(ErrorCode.INVALID_CREDENTIALS, 'wrong password for memory source');
    }
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
    for (const key of directory.selectedGroups) {
      if (!groups.has(key)) {
        throw new DirsyncError(ErrorCode.GROUP_NOT_FOUND, `group ${key} does not exist`);
      }
      expand(key, new Set());
    }
    const inScope = new Set([...observed.values()].flatMap((s) => [...s]));
    const wanted =
      job.mode === SyncMode.USER
        ? [...inScope].filter(
            (k) => users.get(k)?.username?.toLowerCase() === job.username.toLowerCase(),
          )
        : [...inScope];
    for (const key of wanted) {
      const u = users.get(key);
      if (!u) continue;
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
      if (job.mode === SyncMode.USER && ids.length === 0) continue;
      await sink.group({ externalId: g.id, name: g.name, sourceLocator: `memory:${key}` });
      await sink.members(g.id, ids);
    }
    return { cursor: '' };
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
      if (m.op === 'deleteUser') users.delete(m.user);
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
  invalidSettings: () => ({
    settings: { source: 'elsewhere', colour: 'blue' },
    fields: ['source', 'colour'],
  }),
});
