// Lifecycle events end to end: a real slapd, NATS, Postgres and every service in process. What
// an operator sees through the gateway (runs, users, restore, purge) is what a subscriber reads
// from DIRSYNC_LIFECYCLE — one event per transition, in order, with the run or the operator
// that caused it, and never a secret.
import {
  LifecycleEntity,
  LifecycleEventsSchema,
  Stream,
  UserState,
  entityToken,
  fromBinary,
  streamName,
  transitionToken,
  type LifecycleEvent,
} from '@dirsync/proto';
import { formatLdifEntry, startSlapd, waitFor, type Slapd } from '@dirsync/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, waitForRun, type Client, type Stack } from './support/stack.js';

const PEOPLE = 'ou=people,dc=example,dc=org';
const GROUPS = 'ou=groups,dc=example,dc=org';
const NAMES = ['ada', 'bob', 'cyd', 'dee'];
const dnOf = (name: string) => `uid=${name},${PEOPLE}`;

function directoryLdif(): string {
  return [
    ...NAMES.map((name) =>
      formatLdifEntry({
        dn: dnOf(name),
        attributes: {
          objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
          uid: [name],
          cn: [`${name} Example`],
          sn: ['Example'],
          mail: [`${name}@example.org`],
        },
      }),
    ),
    formatLdifEntry({
      dn: `cn=staff,${GROUPS}`,
      attributes: { objectClass: ['top', 'groupOfNames'], cn: ['staff'], member: NAMES.map(dnOf) },
    }),
  ].join('\n\n');
}

describe('lifecycle events end to end (OpenLDAP → identity → DIRSYNC_LIFECYCLE)', () => {
  let slapd: Slapd;
  let stack: Stack;
  let manager: Client;
  let dirId: string;
  const runs: string[] = [];

  async function sync(): Promise<string> {
    const { syncAll } = await stack.gql<{ syncAll: { id: string } }>(
      `mutation($id: ID!) { syncAll(directoryId: $id) { id } }`,
      { id: dirId },
    );
    const run = await waitForRun(stack, syncAll.id);
    expect(run.status).toBe('COMPLETED');
    runs.push(syncAll.id);
    return syncAll.id;
  }

  async function userId(username: string): Promise<string> {
    const { userByUsername } = await stack.gql<{ userByUsername: { id: string } | null }>(
      `query($dir: ID!, $u: String!) { userByUsername(directoryId: $dir, username: $u) { id } }`,
      { dir: dirId, u: username },
    );
    return userByUsername!.id;
  }

  /** Every lifecycle event on the stack's stream, in stream order. */
  async function events(): Promise<LifecycleEvent[]> {
    const jsm = await stack.nc.jetstreamManager();
    const stream = streamName(Stream.LIFECYCLE, stack.namespace).name;
    const info = await jsm.streams.info(stream);
    const out: LifecycleEvent[] = [];
    for (let s = info.state.first_seq; s > 0 && s <= info.state.last_seq; s++) {
      const m = await jsm.streams.getMessage(stream, { seq: s });
      if (!m.subject.startsWith(`${stack.namespace}.dirsync.lifecycle.`)) continue;
      if (m.subject.endsWith('.directory.deleted')) continue;
      out.push(...fromBinary(LifecycleEventsSchema, m.data).events);
    }
    return out;
  }

  async function userStory(username: string, count: number): Promise<LifecycleEvent[]> {
    return waitFor(
      async () => {
        const mine = (await events()).filter(
          (e) => e.subject.case === 'user' && e.subject.value.username === username,
        );
        return mine.length >= count ? mine : undefined;
      },
      { timeoutMs: 20_000, message: `${count} events of ${username}` },
    );
  }

  const story = (list: LifecycleEvent[]) =>
    list.map((e) => `${entityToken(e.entity)} ${transitionToken(e.transition)}`);

  beforeAll(async () => {
    slapd = await startSlapd({ name: 'events-e2e', ldif: directoryLdif() });
    stack = await startStack();
    manager = await stack.client('USER_MANAGER');
    const { createDirectory } = await stack.gql<{ createDirectory: { id: string } }>(
      `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
      {
        input: {
          name: 'events e2e',
          ldap: {
            url: slapd.url,
            bindDn: slapd.rootDn,
            baseDn: slapd.suffix,
            userBaseDn: PEOPLE,
            groupBaseDn: GROUPS,
          },
          bindPassword: slapd.rootPassword,
          selectedGroups: [`cn=staff,${GROUPS}`],
          scheduleIntervalMinutes: 0,
          deltaIntervalMinutes: 0,
          // Half the directory leaves below: no deletion threshold here (e2e.safety tests it).
          deletionThreshold: { maxCount: 0, maxPercent: 0 },
        },
      },
    );
    dirId = createDirectory.id;
  });

  afterAll(async () => {
    await stack?.stop();
    await slapd?.dispose();
  });

  it('a first sync: every user and the group created, then the run completed', async () => {
    const runId = await sync();
    await waitFor(async () => (await events()).some((e) => e.entity === LifecycleEntity.RUN), {
      message: 'run completed event',
    });
    const all = await events();
    // The connector's batches come in any order; the run's end comes last.
    expect(story(all).slice(0, -1).sort()).toEqual(
      ['group created', ...NAMES.map(() => 'user created')].sort(),
    );
    expect(story(all).at(-1)).toBe('run completed');
    expect(all.every((e) => e.runId === runId && e.directoryId === dirId)).toBe(true);
    const run = all.at(-1)!;
    expect(run.eventId).toBe(`run:${runId}:completed`);
    expect(run.subject.case === 'run' && run.subject.value.counts?.created).toBe(NAMES.length);
    const ada = all.find((e) => e.subject.case === 'user' && e.subject.value.username === 'ada')!;
    expect(ada.subject.case === 'user' && ada.subject.value.email).toBe('ada@example.org');
  });

  it('out of the group → pending_deletion; restoreUser → restored by the operator', async () => {
    await slapd.modify(`dn: cn=staff,${GROUPS}
changetype: modify
delete: member
member: ${dnOf('bob')}
member: ${dnOf('cyd')}`);
    const removal = await sync();
    const bob = await userId('bob');
    const r = await manager.gqlRaw(`mutation($id: ID!) { restoreUser(id: $id) { status } }`, {
      id: bob,
    });
    expect(r.errors).toBeUndefined();
    const mine = await userStory('bob', 3);
    expect(story(mine)).toEqual(['user created', 'user pending_deletion', 'user restored']);
    expect(mine[1]!.runId).toBe(removal);
    const gone = mine[1]!.subject;
    expect(gone.case === 'user' && gone.value.state).toBe(UserState.PENDING_DELETION);
    expect(gone.case === 'user' && Number(gone.value.purgeAfterMs)).toBeGreaterThan(Date.now());
    // The operator's change: no run, and the principal — never its key — as actor.
    expect(mine[2]!.runId).toBe('');
    expect(mine[2]!.actor).not.toBe('');
    expect(mine[2]!.actor).not.toContain(manager.key);
    expect(mine.map((e) => e.eventId)).toEqual([
      `user:${bob}:1:created`,
      `user:${bob}:2:pending_deletion`,
      `user:${bob}:3:restored`,
    ]);
  });

  it('purgeUser → purged; an unchanged sync publishes nothing but its end', async () => {
    const cyd = await userId('cyd');
    const admin = await stack.client('ADMINISTRATOR');
    const r = await admin.gqlRaw(`mutation($id: ID!) { purgeUser(id: $id) }`, { id: cyd });
    expect(r.errors).toBeUndefined();
    const mine = await userStory('cyd', 3);
    expect(story(mine)).toEqual(['user created', 'user pending_deletion', 'user purged']);
    expect(mine[2]!.eventId).toBe(`user:${cyd}:3:purged`);

    const before = (await events()).length;
    // bob (restored by hand, still out of the group) goes again; nobody else changes.
    const again = await sync();
    await waitFor(
      async () => (await events()).some((e) => e.eventId === `run:${again}:completed`),
      { message: 'the run end' },
    );
    expect(story((await events()).slice(before))).toEqual([
      'user pending_deletion',
      'run completed',
    ]);
    // Every event once.
    const ids = (await events()).map((e) => e.eventId);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
