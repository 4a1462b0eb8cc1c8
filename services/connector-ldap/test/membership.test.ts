// Group scope and membership against a real slapd: nesting, cycles, posixGroup memberUid,
// groupOfUniqueNames, DN variants (case, spacing, escapes, UTF-8) and dangling members.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, SyncMode } from '@dirsync/proto';
import {
  memberUsernames,
  observedUsernames,
  type CollectedRun,
  type ConnectorHarness,
} from '@dirsync/kit/conformance';
import { startSlapd, type Slapd } from '@dirsync/testkit';
import {
  GROUPS,
  PEOPLE,
  directoryConfig,
  group,
  ldapHarness,
  ldif,
  newDirectoryId,
  person,
} from './helpers.js';

const TOP = `cn=top,${GROUPS}`;
const MID = `cn=mid,${GROUPS}`;
const POSIX = `cn=posix,${GROUPS}`;
const SELF = `cn=self,${GROUPS}`;
const GHOST = `uid=ghost,${PEOPLE}`;

const people = [
  person({ uid: 'alice' }),
  person({ uid: 'bob' }),
  person({ uid: 'carol' }),
  person({ uid: 'dave' }),
  person({ uid: 'erin' }),
  person({ dn: `cn=Frank\\, Jr.,${PEOPLE}`, cn: 'Frank, Jr.', attrs: { uid: 'frank' } }),
  person({ uid: 'zoë', cn: 'Zoë' }),
  person({ uid: 'outsider' }),
];

const groups = [
  group('top', [
    'UID=alice, OU=People,dc=EXAMPLE,dc=org',
    MID,
    POSIX,
    `cn=Frank\\2C Jr.,ou=people,dc=example,dc=org`,
    'uid=ZO\\C3\\8B , ou=people , dc=example , dc=org',
    GHOST,
    'cn=admin,dc=example,dc=org',
  ]),
  group('mid', [`uid=bob,${PEOPLE}`, `CN=TOP,OU=GROUPS,DC=example,DC=org`], {
    objectClass: 'groupOfUniqueNames',
  }),
  group('posix', ['carol', 'DAVE', 'nobody-here'], { objectClass: 'posixGroup' }),
  group('self', [SELF, `uid=erin,${PEOPLE}`, GHOST]),
  group('unselected', [`uid=outsider,${PEOPLE}`]),
];

describe('group scope and membership', () => {
  let slapd: Slapd;
  let h: ConnectorHarness;
  let run: CollectedRun;

  beforeAll(async () => {
    slapd = await startSlapd({ name: 'membership', ldif: ldif(...people, ...groups) });
    h = await ldapHarness({ batchSize: 3 });
    const id = newDirectoryId();
    h.setConfig(id, directoryConfig(slapd, [TOP.toUpperCase(), SELF]));
    run = await h.run({ directoryId: id });
  });

  afterAll(async () => {
    await h?.close();
    await slapd?.dispose();
  });

  it('completes', () => {
    expect(run.outcome.error).toBeUndefined();
    expect(run.completed?.lastSeq).toBe(run.events.length);
  });

  it('observes the selected groups and every group nested in them', () => {
    expect(run.groups.map((g) => g.name).sort()).toEqual(['mid', 'posix', 'self', 'top']);
    expect(run.groups.find((g) => g.name === 'top')?.sourceLocator).toBe(TOP);
  });

  it('observes exactly the transitive user members', () => {
    expect(observedUsernames(run)).toEqual(
      ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'zoë'].sort(),
    );
  });

  it('matches member DNs that differ in case, spacing, escapes and UTF-8 encoding', () => {
    expect(memberUsernames(run, 'top')).toEqual(
      ['alice', 'bob', 'carol', 'dave', 'frank', 'zoë'].sort(),
    );
  });

  it('resolves posixGroup memberUid values by uid, case-insensitively', () => {
    expect(memberUsernames(run, 'posix')).toEqual(['carol', 'dave']);
  });

  it('follows groupOfUniqueNames uniqueMember values', () => {
    expect(memberUsernames(run, 'mid')).toContain('bob');
  });

  it('a USER run reports no group cycle: its errors are about its user only', async () => {
    // carol is in top (via posix), which loops with mid, and self loops on itself: a FULL run
    // reports both cycles; `dirsync sync-user … carol` must not print them as carol's errors.
    const id = newDirectoryId();
    h.setConfig(id, directoryConfig(slapd, [TOP.toUpperCase(), SELF]));
    const one = await h.run({ directoryId: id, mode: SyncMode.USER, username: 'carol' });
    expect(one.outcome.error).toBeUndefined();
    expect(observedUsernames(one)).toEqual(['carol']);
    expect(one.objectErrors.filter((e) => e.code === ErrorCode.GROUP_CYCLE)).toEqual([]);
  });

  it('merges the members of a nesting cycle and reports each cycle once', () => {
    expect(memberUsernames(run, 'mid')).toEqual(memberUsernames(run, 'top'));
    const cycles = run.objectErrors.filter((e) => e.code === ErrorCode.GROUP_CYCLE);
    expect(cycles).toHaveLength(2);
    const text = cycles.map((c) => c.message).join('\n');
    expect(text).toContain(TOP);
    expect(text).toContain(MID);
    expect(text).toContain(SELF);
    expect(memberUsernames(run, 'self')).toEqual(['erin']);
  });

  it('reports each dangling member once as UNRESOLVED_MEMBER', () => {
    const unresolved = run.objectErrors.filter((e) => e.code === ErrorCode.UNRESOLVED_MEMBER);
    const ghost = unresolved.filter((e) => e.message.includes(GHOST));
    expect(ghost).toHaveLength(1);
    expect(unresolved.filter((e) => e.message.includes('nobody-here'))).toHaveLength(1);
    expect(unresolved.filter((e) => e.message.includes('cn=admin,dc=example,dc=org'))).toHaveLength(
      1,
    );
    expect(unresolved).toHaveLength(3);
  });

  it('never observes a user outside the selected groups', () => {
    expect(observedUsernames(run)).not.toContain('outsider');
    expect(run.groups.map((g) => g.name)).not.toContain('unselected');
  });

  it('uses entryUUID as external id', async () => {
    const [entry] = await slapd.search(`uid=bob,${PEOPLE}`, '(objectClass=*)', ['entryUUID']);
    const bob = run.users.find((u) => u.username === 'bob');
    expect(bob?.externalId).toBe(String(entry?.entryUUID));
  });

  it('fails with GROUP_NOT_FOUND naming a selected group that does not exist', async () => {
    const id = newDirectoryId();
    const missing = `cn=Nope,${GROUPS}`;
    h.setConfig(id, directoryConfig(slapd, [TOP, missing]));
    const failed = await h.run({ directoryId: id });
    expect(failed.failed?.error?.code).toBe(ErrorCode.GROUP_NOT_FOUND);
    expect(failed.failed?.error?.message).toContain(missing);
  });

  it('fails with TOO_MANY_GROUPS above 400 selected groups', async () => {
    const id = newDirectoryId();
    const many = Array.from({ length: 401 }, (_v, i) => `cn=g${i},${GROUPS}`);
    h.setConfig(id, directoryConfig(slapd, many));
    const failed = await h.run({ directoryId: id });
    expect(failed.failed?.error?.code).toBe(ErrorCode.TOO_MANY_GROUPS);
  });

  it('fails with CONFIG_INVALID for a selected group that is not a DN', async () => {
    const id = newDirectoryId();
    h.setConfig(id, directoryConfig(slapd, ['not a dn']));
    const failed = await h.run({ directoryId: id });
    expect(failed.failed?.error?.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(failed.failed?.error?.message).toContain('not a dn');
  });

  it('sees a member added to a nested group at the next run', async () => {
    await slapd.modify(
      `dn: ${MID}\nchangetype: modify\nadd: uniqueMember\nuniqueMember: uid=outsider,${PEOPLE}\n`,
    );
    const id = newDirectoryId();
    h.setConfig(id, directoryConfig(slapd, [TOP, SELF]));
    const again = await h.run({ directoryId: id });
    expect(memberUsernames(again, 'top')).toContain('outsider');
    expect(observedUsernames(again)).toContain('outsider');
  });
});
