import { AdminRole, ErrorCode, RunStatus, SyncMode } from '@dirsync/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RunBuilder,
  admin,
  gql,
  runAndWait,
  startHarness,
  type AdminInit,
  type Harness,
} from './harness.js';

/**
 * Administrators' e-mails with full case folding: the migration recomputes every key, keeps
 * both administrators of a new collision (a synced one holds the e-mail before a manual one,
 * then the older), shows the kept one; a sync matches STRASSE@ to straße@, never removes a
 * kept administrator whose address it observed (nor counts or holds it when the deletion
 * threshold blocks the run), and gives the e-mail back once it is free.
 */
const BEFORE = 'Migration20261204093000_casefold_names';
const legacyKey = (v: string) => v.trim().normalize('NFC').toLowerCase();
const D = 'cf000000-0000-4000-8000-00000000000d';
const E = 'cf000000-0000-4000-8000-00000000000e';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

function adminRun(directoryId: string, admins: AdminInit[], email = ''): RunBuilder {
  return new RunBuilder(directoryId).started(SyncMode.ADMIN, { email }).admins(admins).completed();
}

interface Shown {
  id: string;
  email: string;
  role: string;
  status: string;
  emailConflict: boolean;
  emailHolder: { id: string } | null;
}
const FIELDS = 'id email role status emailConflict emailHolder { id }';

async function byEmail(email: string): Promise<Shown | null> {
  const r = await gql<{ adminByEmail: Shown | null }>(
    h.service.url,
    `query($e: String!) { adminByEmail(email: $e) { ${FIELDS} } }`,
    { e: email },
  );
  expect(r.errors).toBeUndefined();
  return r.data!.adminByEmail;
}

async function byId(id: string): Promise<Shown | null> {
  const r = await gql<{ admin: Shown | null }>(
    h.service.url,
    `query($id: ID!) { admin(id: $id) { ${FIELDS} } }`,
    { id },
  );
  expect(r.errors).toBeUndefined();
  return r.data!.admin;
}

describe('casefold admin e-mails migration', () => {
  const ids: Record<string, string> = {};

  it('recomputes every key and keeps both administrators of a new collision', async () => {
    await h.db.orm.migrator.down({ to: BEFORE });
    const insert = async (label: string, dir: string | null, email: string, age: string) => {
      const [row] = await h.db.sql.rows<{ id: string }>(
        `insert into admins (email, email_key, role, roles, directory_id, external_id,
           content_hash, created_at)
         values (?, ?, 'HELP_DESK', '{HELP_DESK}', ?, ?, ?, now() - ?::interval) returning id`,
        [email, legacyKey(email), dir, dir ? label : null, dir ? 'h' : null, age],
      );
      ids[label] = row!.id;
    };
    await insert('manual', null, 'STRASSE@example.org', '3 days'); // older, but manual
    await insert('synced', D, 'straße@example.org', '1 day');
    await insert('e-weiss', E, 'weiß@example.org', '3 days');
    await insert('d-weiss', D, 'WEISS@example.org', '2 days');
    await insert('ada', D, 'Ada@Example.org', '2 days');
    expect(legacyKey('STRASSE@example.org')).not.toBe(legacyKey('straße@example.org'));

    await h.db.orm.migrator.up();

    const rows = await h.rows<{ id: string; email_key: string }>(
      'select id, email_key from admins',
    );
    expect(rows).toHaveLength(5);
    const key = new Map(rows.map((r) => [r.id, r.email_key]));
    expect(key.get(ids['synced']!)).toBe('strasse@example.org');
    expect(key.get(ids['manual']!)).toBe(`strasse@example.org\u0001${ids['manual']}`);
    expect(key.get(ids['e-weiss']!)).toBe('weiss@example.org');
    expect(key.get(ids['d-weiss']!)).toBe(`weiss@example.org\u0001${ids['d-weiss']}`);
    expect(key.get(ids['ada']!)).toBe('ada@example.org');

    expect((await byEmail('STRAẞE@EXAMPLE.ORG'))?.id).toBe(ids['synced']);
    expect(await byId(ids['manual']!)).toMatchObject({
      email: 'STRASSE@example.org',
      emailConflict: true,
      emailHolder: { id: ids['synced'] },
    });
    expect(await byId(ids['synced']!)).toMatchObject({ emailConflict: false, emailHolder: null });
    const listed = await gql<{ admins: { nodes: { id: string }[] } }>(
      h.service.url,
      '{ admins(filter: { emailConflict: true }) { nodes { id } } }',
    );
    expect(listed.errors).toBeUndefined();
    expect(listed.data!.admins.nodes.map((n) => n.id).sort()).toEqual(
      [ids['manual'], ids['d-weiss']].sort(),
    );
  });

  it('a sync matches STRASSE@ to straße@ and keeps the administrator another directory holds the e-mail of', async () => {
    const final = await runAndWait(
      h,
      adminRun(D, [
        admin('synced', 'STRASSE@example.org', AdminRole.OWNER),
        admin('d-weiss', 'WEISS@example.org', AdminRole.HELP_DESK),
        admin('ada', 'ada@example.org', AdminRole.HELP_DESK),
      ]),
    );
    expect(final.status).toBe(RunStatus.COMPLETED);
    const errors = (await h.updates(final.runId)).flatMap((u) => u.update.errors);
    expect(errors.map((e) => [e.code, e.externalId])).toEqual([
      [ErrorCode.ADMIN_CONFLICT, 'd-weiss'],
    ]);
    expect(await byEmail('straße@example.org')).toMatchObject({
      id: ids['synced'],
      email: 'STRASSE@example.org',
      role: 'OWNER',
    });
    expect(final.counts).toMatchObject({ adminsCreated: 0, adminsPendingDeletion: 0 });
    // Its address is in the source: a conflict never removes anyone.
    expect(await byId(ids['d-weiss']!)).toMatchObject({
      status: 'ACTIVE',
      emailConflict: true,
      emailHolder: { id: ids['e-weiss'] },
    });
  });

  it('a run the threshold blocks neither counts nor holds the kept administrator it observed', async () => {
    const final = await runAndWait(
      h,
      new RunBuilder(D)
        .started(SyncMode.ADMIN, { threshold: { maxCount: 1, maxPercent: 0 } })
        .admins([admin('d-weiss', 'WEISS@example.org', AdminRole.HELP_DESK)])
        .completed(),
    );
    expect(final.status).toBe(RunStatus.BLOCKED);
    const held = await h.rows<{ admin_id: string }>(
      'select admin_id from run_held_admins where run_id = ?',
      [final.runId],
    );
    // Approving removes exactly these: never the one whose address the run observed.
    expect(held.map((r) => r.admin_id).sort()).toEqual([ids['synced'], ids['ada']].sort());
    expect((await byId(ids['d-weiss']!))?.status).toBe('ACTIVE');
  });

  it('gives the e-mail back once nobody holds it', async () => {
    await h.db.sql.exec('delete from admins where id = ?', [ids['e-weiss']]);
    const final = await runAndWait(
      h,
      adminRun(D, [admin('d-weiss', 'weiß@example.org', AdminRole.HELP_DESK)], 'WEISS@example.org'),
    );
    expect(final.status).toBe(RunStatus.COMPLETED);
    expect(final.counts).toMatchObject({ adminsCreated: 0, adminsUpdated: 1 });
    expect(await byEmail('weiss@example.org')).toMatchObject({
      id: ids['d-weiss'],
      email: 'weiß@example.org',
      emailConflict: false,
    });
  });

  it('a kept e-mail stays taken for createAdmin and updateAdmin after its holder moves away', async () => {
    const insert = async (email: string, key: string) => {
      const [row] = await h.db.sql.rows<{ id: string }>(
        `insert into admins (email, email_key, role, roles) values (?, ?, 'HELP_DESK', '{HELP_DESK}')
         returning id`,
        [email, key],
      );
      return row!.id;
    };
    // Two manual administrators as the migration leaves them: straße@ kept behind STRASSE@.
    const holder = await insert('STRASSE@bk.example', 'strasse@bk.example');
    const kept = await insert('straße@bk.example', 'strasse@bk.example\u0001');
    await h.db.sql.exec('update admins set email_key = email_key || id::text where id = ?', [kept]);
    const moved = await gql(
      h.service.url,
      'mutation($id: ID!) { updateAdmin(id: $id, input: { email: "moved@bk.example" }) { id } }',
      { id: holder },
    );
    expect(moved.errors).toBeUndefined();
    const created = await gql(
      h.service.url,
      'mutation { createAdmin(input: { email: "STRASSE@bk.example", role: HELP_DESK }) { id } }',
    );
    expect(created.errors?.[0]?.extensions).toMatchObject({
      code: 'CONFLICT',
      field: 'email',
      adminId: kept,
    });
    const back = await gql(
      h.service.url,
      'mutation($id: ID!) { updateAdmin(id: $id, input: { email: "Strasse@BK.example" }) { id } }',
      { id: holder },
    );
    expect(back.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', adminId: kept });
    const [n] = await h.rows<{ n: string }>(
      `select count(*) as n from admins where split_part(email_key, chr(1), 1) = 'strasse@bk.example'`,
    );
    expect(Number(n?.n)).toBe(1);
  });
});
