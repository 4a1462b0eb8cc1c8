// The admin console end to end in headless Chromium (Debian's `chromium`, driven by
// playwright-core; no browser download): the built console served by the gateway in front of the
// whole stack in process, a real slapd with the demo directory, real Postgres and NATS. What an
// operator does: sign in with an API key, sync a directory and watch the counts, find a user,
// send one to the trash through the source and bring them back, create a directory and see the
// API's validation errors beside the fields, and see only what the role may do.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { loadDemo, normalizeDn, startSlapd, waitFor, type Slapd } from '@dirsync/testkit';
import {
  demoDirectoryInput,
  startStack,
  waitForRun,
  type Stack,
} from '../../../gateway/test/support/stack.js';
import { CHROMIUM_ARGS, chromiumPath } from './support/chromium.js';
import { startOidcProvider } from './support/oidc-provider.js';

const here = dirname(fileURLToPath(import.meta.url));
const CONSOLE_DIR = join(here, '..', 'dist');
/** Set (to a folder) to write the README's screenshots there: `npm run screenshot -w @dirsync/console`. */
const SCREENSHOT_DIR = process.env.DIRSYNC_CONSOLE_SCREENSHOT_DIR;

const demo = loadDemo();

/**
 * A person of the demo directory who is in scope through exactly one selected group, named as a
 * direct `member`: removing that one value takes them out of scope (→ pending deletion), adding
 * it back brings them back (→ restored, same id).
 */
function singleGroupMembers(n: number): { username: string; dn: string; groupDn: string }[] {
  const out: { username: string; dn: string; groupDn: string }[] = [];
  const selected = new Set(demo.directory.selectedGroups.map(normalizeDn));
  const groupsOf = new Map<string, string[]>();
  for (const e of demo.entries) {
    for (const m of e.attributes['member'] ?? []) {
      const key = normalizeDn(m);
      groupsOf.set(key, [...(groupsOf.get(key) ?? []), e.dn]);
    }
    for (const uid of e.attributes['memberUid'] ?? []) groupsOf.set(`uid:${uid}`, [e.dn]);
  }
  for (const e of demo.entries) {
    const uid = e.attributes['uid']?.[0];
    const groups = groupsOf.get(normalizeDn(e.dn)) ?? [];
    if (!uid || groups.length !== 1 || groupsOf.has(`uid:${uid}`)) continue;
    if (!selected.has(normalizeDn(groups[0]!))) continue;
    if (!demo.expected.inScope.usernames.includes(uid) || uid === 'jdoe') continue;
    out.push({ username: uid, dn: e.dn, groupDn: groups[0]! });
    if (out.length === n) return out;
  }
  throw new Error(`the demo directory has fewer than ${n} single-group members`);
}

const memberChange = (op: 'add' | 'delete', p: { dn: string; groupDn: string }) =>
  `dn: ${p.groupDn}\nchangetype: modify\n${op}: member\nmember: ${p.dn}\n`;

describe('the console in Chromium', () => {
  let slapd: Slapd;
  let stack: Stack;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let origin: string;
  let dirId: string;
  let dirName: string;

  beforeAll(async () => {
    if (!existsSync(join(CONSOLE_DIR, 'index.html'))) {
      throw new Error(`${CONSOLE_DIR} has no build: npx turbo run build --filter=@dirsync/console`);
    }
    [slapd, stack, browser] = await Promise.all([
      startSlapd({ ldif: demo.ldif, name: 'console' }),
      startStack({ gateway: { console: { dir: CONSOLE_DIR } } }),
      chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS }),
    ]);
    origin = new URL(stack.gatewayUrl).origin;
    // The README's screenshots show the demo's name; a normal run uses a random one.
    const input = demoDirectoryInput(slapd, SCREENSHOT_DIR ? { name: 'Demo OpenLDAP' } : {});
    dirName = String(input.name);
    const { createDirectory } = await stack.gql<{ createDirectory: { id: string } }>(
      `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
      { input },
    );
    dirId = createDirectory.id;
    context = await browser.newContext({ viewport: { width: 1360, height: 860 } });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await slapd?.dispose();
  });

  const shot = async (name: string) => {
    if (!SCREENSHOT_DIR) return;
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOT_DIR, name) });
  };

  it('is served by the gateway at / with a strict content security policy', async () => {
    const res = await fetch(`${origin}/users/some-id`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeTruthy();
    const js = await fetch(`${origin}${asset}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toContain('immutable');
    // Not the app: API paths, a missing asset, a path outside the console's folder.
    expect((await fetch(`${origin}/assets/missing.js`)).status).toBe(404);
    expect((await fetch(`${origin}/graphql`, { method: 'GET' })).status).not.toBe(200);
    expect((await fetch(`${origin}/%2e%2e/package.json`)).status).toBe(404);
  });

  it('signs in with an API key (and refuses a wrong one at the door)', async () => {
    await page.goto(`${origin}/`);
    await page.fill('input[name="apiKey"]', 'not a key');
    await page.click('button[type="submit"]');
    await expect
      .poll(() => page.locator('[role="alert"]').innerText(), { timeout: 15_000 })
      .toContain('dsk_');
    await page.fill('input[name="apiKey"]', `dsk_notakey12345_${'0'.repeat(43)}`);
    await page.click('button[type="submit"]');
    await expect
      .poll(() => page.locator('[role="alert"]').innerText(), { timeout: 15_000 })
      .toContain('UNAUTHENTICATED');
    await page.fill('input[name="apiKey"]', stack.key);
    await page.click('button[type="submit"]');
    await page.waitForSelector('[data-testid="viewer"]');
    expect(await page.locator('[data-testid="viewer"]').innerText()).toMatch(/owner/i);
    await page.waitForSelector(`tr[data-directory="${dirName}"]`);
    expect(await page.locator(`tr[data-directory="${dirName}"]`).innerText()).toContain(
      'never synced',
    );
  });

  it('syncs the directory from the console and shows the run live, then its counts', async () => {
    await page.locator(`tr[data-directory="${dirName}"] button`, { hasText: 'Sync now' }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    const runId = page.url().split('/').pop()!;
    await page.waitForSelector('section[data-run-status="COMPLETED"]', { timeout: 60_000 });
    const run = await waitForRun(stack, runId);
    const count = (label: string) => page.locator(`tr[data-count="${label}"] td`).innerText();
    expect(await count('users seen')).toBe(run.counts.seen.toLocaleString('en-US'));
    expect(await count('created')).toBe(run.counts.created.toLocaleString('en-US'));
    expect(run.counts.created).toBe(demo.expected.inScope.importable);
    // The demo's deliberate per-object errors are listed with their codes; the list's total is
    // the errors plus the username conflicts, both rows of the counts table.
    expect(await page.locator('table.errors').innerText()).toContain('MISSING_USERNAME');
    const { conflicts } = (
      await stack.gql<{ run: { counts: { conflicts: number } } }>(
        `query($id: ID!) { run(id: $id) { counts { conflicts } } }`,
        { id: runId },
      )
    ).run.counts;
    expect(await count('errors')).toBe(run.counts.errors.toLocaleString('en-US'));
    expect(await count('conflicts')).toBe(conflicts.toLocaleString('en-US'));
    expect(await page.locator('[data-testid="errors-total"]').innerText()).toBe(
      `(${(run.counts.errors + conflicts).toLocaleString('en-US')})`,
    );
    // Its per-object changes, filtered by kind: one CREATED per user it created.
    await page.selectOption('select[name="kind"]', 'CREATED');
    await expect
      .poll(() => page.locator('[data-testid="changes-total"]').innerText(), { timeout: 15_000 })
      .toBe(`(${run.counts.created.toLocaleString('en-US')})`);
    expect(await page.locator('[data-testid="changes"] tr[data-change="CREATED"]').count()).toBe(
      50,
    );
    await page.selectOption('select[name="kind"]', 'GROUP_CREATED');
    await page.waitForSelector('[data-testid="changes"] tr[data-change="GROUP_CREATED"]');
    await shot('console-run.png');

    await page.click('nav >> text=Directories');
    const row = page.locator(`tr[data-directory="${dirName}"]`);
    await expect
      .poll(() => row.locator('[data-testid="user-counts"]').innerText(), { timeout: 15_000 })
      .toContain(`${demo.expected.inScope.importable.toLocaleString('en-US')} active`);
    await expect.poll(() => row.innerText(), { timeout: 15_000 }).toMatch(/completed/);
    await shot('console-directories.png');
  });

  it('shows a dry run live: what it has read, then Planning…, then the plan', async () => {
    const { runs } = await stack.gql<{
      runs: { nodes: { counts: { seen: number; groupsSeen: number } }[] };
    }>(
      `query($d: ID!) { runs(directoryId: $d, status: [COMPLETED], first: 1) {
         nodes { counts { seen groupsSeen } } } }`,
      { d: dirId },
    );
    const read = runs.nodes[0]!.counts;
    expect(read.seen).toBeGreaterThan(0);
    // Hold the plan back: it writes users (rolled back), which a SHARE lock on identity.users
    // stops until the test lets go; reading, staging and reads of users go on.
    const db = new pg.Client({ connectionString: stack.databaseUrl });
    await db.connect();
    let runId = '';
    try {
      await db.query('begin');
      await db.query('lock table identity.users in share mode');
      await page.goto(`${origin}/directories/${dirId}`);
      await page.check('input[name="dryRun"]');
      await page.click('form.inline-form button[type="submit"]'); // Plan
      await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
      runId = page.url().split('/').pop()!;
      // Everything read and staged, the plan not done: the live counts say so.
      const live = page.locator('[role="status"][data-phase="planning"]');
      await live.waitFor({ timeout: 60_000 });
      await expect
        .poll(() => live.locator('[data-testid="live-seen"]').innerText(), { timeout: 30_000 })
        .toBe(read.seen.toLocaleString('en-US'));
      expect(await live.innerText()).toMatch(
        new RegExp(
          `^Planning… ${read.seen.toLocaleString('en-US')} seen of about [\\d,]+, ${read.groupsSeen} groups seen; everything is read`,
        ),
      );
      expect(await page.locator('section').getAttribute('data-run-status')).toBe('RUNNING');
      expect(await page.locator('[data-testid="dry-run"]').innerText()).toMatch(
        /what it has read so far/,
      );
      expect(await page.locator('tr[data-count="users seen"] td').innerText()).toBe(
        read.seen.toLocaleString('en-US'),
      );
    } finally {
      await db.query('rollback').catch(() => undefined);
      await db.end();
    }
    await page.waitForSelector('section[data-run-status="COMPLETED"]', { timeout: 60_000 });
    const run = await waitForRun(stack, runId);
    expect(run.counts.seen).toBe(read.seen);
    expect(await page.locator('tr[data-count="users seen"] td').innerText()).toBe(
      run.counts.seen.toLocaleString('en-US'),
    );
    expect(await page.locator('[data-testid="dry-run"]').innerText()).toMatch(
      /what a real run would do/,
    );
  });

  it("shows a dry run's changes on its live page when it ends, without a reload", async () => {
    // One real change to plan (jdoe's display name), among the demo's per-object errors.
    const jdoe = demo.entries.find((e) => e.attributes['uid']?.[0] === 'jdoe')!;
    const original = jdoe.attributes['displayName']?.[0];
    await slapd.modify(
      `dn: ${jdoe.dn}\nchangetype: modify\nreplace: displayName\ndisplayName: Live Plan Name\n`,
    );
    // The page's clock stands still from before Plan until the test moves it, and the plan is
    // held by a lock: the page reads the run (active) and its changes (none yet) once; then the
    // plan is written and the run completes; then exactly one poll of the run (1 s) is let
    // through — before the changes' own poll (2 s) is due. The page must read the changes again
    // because the run ended, not because a poll happened to come after the plan.
    await page.clock.install();
    const db = new pg.Client({ connectionString: stack.databaseUrl });
    await db.connect();
    let runId = '';
    try {
      await db.query('begin');
      await db.query('lock table identity.users in share mode');
      await page.goto(`${origin}/directories/${dirId}`);
      await page.check('input[name="dryRun"]');
      await page.clock.pauseAt(new Date(Date.now() + 1_000));
      await page.click('form.inline-form button[type="submit"]'); // Plan
      await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
      runId = page.url().split('/').pop()!;
      await page.waitForSelector(
        'section[data-run-status="QUEUED"], section[data-run-status="RUNNING"]',
      );
      await expect
        .poll(() => page.locator('[data-testid="changes-total"]').innerText())
        .toBe('(0)');
    } finally {
      await db.query('rollback').catch(() => undefined);
      await db.end();
    }
    try {
      expect((await waitForRun(stack, runId)).status).toBe('COMPLETED');
      const api = await stack.gql<{
        run: { changes: { totalCount: number }; problems: { totalCount: number } };
      }>(
        `query($id: ID!) { run(id: $id) {
           changes(filter: { kinds: [UPDATED] }, first: 0) { totalCount }
           problems: changes(filter: { kinds: [ERROR, CONFLICT] }, first: 0) { totalCount } } }`,
        { id: runId },
      );
      expect(api.run.changes.totalCount).toBe(1);
      expect(api.run.problems.totalCount).toBeGreaterThan(0);
      await page.clock.runFor(1_000);
      await page.waitForSelector('section[data-run-status="COMPLETED"]');
      // The planned update listed first (the errors and conflicts are a click away, counted).
      await expect
        .poll(() => page.locator('[data-testid="changes-total"]').innerText())
        .toBe('(1)');
      expect(
        await page.locator('[data-testid="changes"] tr[data-change="UPDATED"]').innerText(),
      ).toMatch(/jdoe.*displayName.*Live Plan Name/s);
      const kinds = page.locator('[data-testid="change-kinds"]');
      await expect.poll(() => kinds.locator('[data-kind="UPDATED"]').innerText()).toBe('updated 1');
      const problems = (
        await kinds.locator('[data-kind="ERROR"] b, [data-kind="CONFLICT"] b').allInnerTexts()
      ).reduce((n, t) => n + Number(t.replace(/\D/g, '')), 0);
      expect(problems).toBe(api.run.problems.totalCount);
    } finally {
      await page.clock.resume();
      await slapd.modify(
        original
          ? `dn: ${jdoe.dn}\nchangetype: modify\nreplace: displayName\ndisplayName: ${original}\n`
          : `dn: ${jdoe.dn}\nchangetype: modify\ndelete: displayName\n`,
      );
    }
  });

  it('finds a user by search and shows their page', async () => {
    await page.click('nav >> text=Users');
    await page.fill('input[name="search"]', 'jdoe');
    await page.waitForSelector('tr[data-user="jdoe"]');
    await page.click('tr[data-user="jdoe"] a');
    await page.waitForSelector('section[data-user-status="ACTIVE"]');
    const text = await page.locator('main').innerText();
    expect(text).toContain('jdoe');
    expect(text).toContain(dirName);
    expect(text).toMatch(/Groups\s*\(\d+\)/);
    await shot('console-user.png');

    // A user whose alias is jdoe's username under case folding (what migration
    // 20261204093000_casefold_names keeps): the page names the alias and its holder.
    const { createUser } = await stack.gql<{ createUser: { id: string } }>(
      `mutation { createUser(input: { username: "console.kept", aliases: ["console.kept.a"] }) { id } }`,
    );
    const db = new pg.Client({ connectionString: stack.databaseUrl });
    await db.connect();
    try {
      await db.query(
        `update identity.user_aliases set alias = 'JDOE', alias_key = 'jdoe' || chr(1) || user_id
         where user_id = $1`,
        [createUser.id],
      );
    } finally {
      await db.end();
    }
    await page.goto(`${origin}/users/${createUser.id}`);
    await page.waitForSelector('[data-testid="name-conflicts"] a:has-text("jdoe")');
    expect(await page.locator('[data-testid="name-conflicts"]').innerText()).toMatch(
      /Alias JDOE held by jdoe/,
    );
    await stack.gql(`mutation($id: ID!) { deleteUser(id: $id) }`, { id: createUser.id });
  });

  it('shows users who left the source in the trash; restores, purges, and restores through the source', async () => {
    const [a, b, c] = singleGroupMembers(3) as [
      ReturnType<typeof singleGroupMembers>[number],
      ReturnType<typeof singleGroupMembers>[number],
      ReturnType<typeof singleGroupMembers>[number],
    ];
    await slapd.modify([a, b, c].map((p) => memberChange('delete', p)).join('\n'));
    // First a dry run: the plan names the three, and nobody changes.
    await page.goto(`${origin}/directories/${dirId}`);
    await page.check('input[name="dryRun"]');
    await page.click('form.inline-form button[type="submit"]'); // Plan
    await page.waitForURL(/\/runs\//);
    await page.waitForSelector('section[data-run-status="COMPLETED"]', { timeout: 60_000 });
    await page.waitForSelector('[data-testid="dry-run"]');
    await page.selectOption('select[name="kind"]', 'PENDING_DELETION');
    await expect
      .poll(() => page.locator('[data-testid="changes-total"]').innerText(), { timeout: 15_000 })
      .toBe('(3)');
    const planned = await stack.gql<{ userByUsername: { status: string } }>(
      `query($u: String!) { userByUsername(username: $u) { status } }`,
      { u: a.username },
    );
    expect(planned.userByUsername.status).toBe('ACTIVE');

    await page.goto(`${origin}/directories/${dirId}`);
    await page.click('form.inline-form button[type="submit"]'); // Sync now (FULL)
    await page.waitForURL(/\/runs\//);
    await page.waitForSelector('section[data-run-status="COMPLETED"]', { timeout: 60_000 });
    expect(await page.locator('tr[data-count="pending deletion"] td').innerText()).toBe('3');

    await page.click('nav >> text=Trash');
    for (const p of [a, b, c]) {
      await page.waitForSelector(`tr[data-user="${p.username}"]`);
      expect(await page.locator(`tr[data-user="${p.username}"]`).innerText()).toMatch(
        /not observed/,
      );
    }
    await shot('console-trash.png');

    // Restore: back with its previous status and the same id.
    const before = await stack.gql<{ userByUsername: { id: string } }>(
      `query($u: String!) { userByUsername(username: $u) { id } }`,
      { u: a.username },
    );
    await page.click(`tr[data-user="${a.username}"] button:has-text("Restore")`);
    await page.waitForSelector(`tr[data-user="${a.username}"]`, { state: 'detached' });
    // The page says what happened, and that the source still lacks them: the next full sync
    // sends them back to the trash unless the source changes.
    expect(await page.locator('[data-testid="restored"]').innerText()).toMatch(
      new RegExp(
        `^Restored ${a.username} — active again\\. It was not found in the source .*: the next full sync moves it to the trash again unless the source changes`,
      ),
    );
    const after = await stack.gql<{ userByUsername: { id: string; status: string } }>(
      `query($u: String!) { userByUsername(username: $u) { id status } }`,
      { u: a.username },
    );
    expect(after.userByUsername).toEqual({ id: before.userByUsername.id, status: 'ACTIVE' });

    // Purge: gone now, not at the end of the restore window.
    page.once('dialog', (d) => void d.accept());
    await page.click(`tr[data-user="${c.username}"] button:has-text("Purge")`);
    await page.waitForSelector(`tr[data-user="${c.username}"]`, { state: 'detached' });
    const purged = await stack.gql<{ userByUsername: unknown }>(
      `query($u: String!) { userByUsername(username: $u) { id } }`,
      { u: c.username },
    );
    expect(purged.userByUsername).toBeNull();

    // Back in the group: syncing just this user from the console restores them (same record).
    await slapd.modify([a, b, c].map((p) => memberChange('add', p)).join('\n'));
    await page.goto(`${origin}/directories/${dirId}`);
    await page.fill('form[data-sync-one="user"] input[name="username"]', b.username);
    await page.click('form[data-sync-one="user"] button[type="submit"]');
    await page.waitForSelector('form[data-sync-one="user"] [data-outcome="RESTORED"]');
    // The user's page tells the story: removed by the full sync, restored by the single sync.
    await page.click(
      'form[data-sync-one="user"] [data-outcome="RESTORED"] ~ a, form[data-sync-one="user"] a >> nth=0',
    );
    await page.waitForSelector('[data-testid="history"] tr[data-change="RESTORED"]');
    expect(
      await page.locator('[data-testid="history"] tr[data-change="PENDING_DELETION"]').count(),
    ).toBeGreaterThan(0);
    await page.click('nav >> text=Trash');
    await page.waitForSelector('[data-testid="user-total"]');
    await waitFor(async () => (await page.locator(`tr[data-user="${b.username}"]`).count()) === 0, {
      timeoutMs: 10_000,
      message: 'the restored user is still in the trash',
    });
  });

  it('plans a sync of one user as a dry run: the planned change shown, nobody changed', async () => {
    const f = singleGroupMembers(6)[5]!;
    const userOf = async () =>
      (
        await stack.gql<{ userByUsername: { id: string; displayName: string | null } }>(
          `query($u: String!) { userByUsername(username: $u) { id displayName } }`,
          { u: f.username },
        )
      ).userByUsername;
    const before = await userOf();
    await slapd.modify(
      `dn: ${f.dn}\nchangetype: modify\nreplace: displayName\ndisplayName: Planned Name\n`,
    );
    await page.goto(`${origin}/directories/${dirId}`);
    const form = page.locator('form[data-sync-one="user"]');
    await form.locator('input[name="username"]').fill(f.username);
    await form.locator('input[name="dryRun"]').check();
    await form.locator('button[type="submit"]', { hasText: 'Plan' }).click();
    const outcome = form.locator('[data-outcome="UPDATED"][data-dry-run="true"]');
    await outcome.waitFor();
    expect(await outcome.innerText()).toMatch(/dry run/i);
    // The notice counts the planned changes, and each is listed (the new name among them).
    const notice = await form.locator('[data-testid="sync-one-plan"]').innerText();
    const planned = /^A dry run: .*\((\d+) changes?\); nobody was changed\.$/.exec(notice);
    expect(planned, notice).not.toBeNull();
    expect(await form.locator('tr[data-change]').count()).toBe(Number(planned![1]));
    const change = form.locator('tr[data-change="UPDATED"]');
    expect(await change.count()).toBe(1);
    expect(await change.innerText()).toContain(f.username);
    expect(await change.innerText()).toMatch(/displayName\s.*→\s*Planned Name/);
    // Planned only: the user keeps the old name, and the run says it was a dry run.
    expect(await userOf()).toEqual(before);
    await form.getByRole('link', { name: 'run', exact: true }).click();
    await page.waitForSelector('[data-testid="dry-run"]');
    expect(await page.locator('h1').innerText()).toMatch(/^Dry run/);

    // The user's own page plans the same sync.
    await page.goto(`${origin}/users/${before.id}`);
    await page.click('button:has-text("Plan sync")');
    const onUserPage = page.locator('[data-outcome="UPDATED"][data-dry-run="true"]');
    await onUserPage.waitFor();
    expect(await onUserPage.locator('tr[data-change="UPDATED"]').innerText()).toContain(
      'Planned Name',
    );
    expect(await userOf()).toEqual(before);

    // The same sync for real changes the user; the result carries no dry-run mark.
    await page.goto(`${origin}/directories/${dirId}`);
    await form.locator('input[name="username"]').fill(f.username);
    await form.locator('button[type="submit"]', { hasText: 'Sync' }).click();
    await form.locator('[data-outcome="UPDATED"]:not([data-dry-run])').waitFor();
    expect(await form.locator('[data-testid="sync-one-plan"]').count()).toBe(0);
    expect((await userOf()).displayName).toBe('Planned Name');
  });

  it('edits the directory to sync administrators, then syncs one by e-mail and all of them', async () => {
    const mailOf = (uid: string) =>
      demo.entries.find((e) => e.attributes['uid']?.[0] === uid)!.attributes['mail']![0]!;
    await page.goto(`${origin}/directories/${dirId}`);
    await page.click('button:has-text("Edit")');
    await page.waitForSelector('textarea[name="adminRoles.OWNER"]');
    await page.fill(
      'textarea[name="adminRoles.OWNER"]',
      'cn=dirsync-owners,ou=groups,dc=example,dc=org',
    );
    await page.fill(
      'textarea[name="adminRoles.HELP_DESK"]',
      'cn=dirsync-help-desk,ou=groups,dc=example,dc=org',
    );
    await page.click('button:has-text("Save")');
    await page.waitForURL(new RegExp(`/directories/${dirId}$`));
    await page.waitForSelector('dd:has-text("owner, help desk")');

    await page.fill('form[data-sync-one="admin"] input[name="email"]', mailOf('amoore2'));
    await page.click('form[data-sync-one="admin"] button[type="submit"]');
    await page.waitForSelector('form[data-sync-one="admin"] [data-outcome="CREATED"]');

    await page.selectOption('select[name="mode"]', 'ADMIN');
    await page.click('form.inline-form button[type="submit"]');
    await page.waitForURL(/\/runs\//);
    await page.waitForSelector('section[data-run-status="COMPLETED"]', { timeout: 60_000 });
    expect(await page.locator('tr[data-count="administrators seen"] td').innerText()).toBe('5');
    const adminRunId = page.url().split('/').pop()!;
    // Its per-object changes name the administrators it created (amoore2 was already there).
    const created = page.locator('[data-testid="changes"] tr[data-change="ADMIN_CREATED"]');
    await created.first().waitFor();
    expect(await created.count()).toBe(4);
    expect(await page.locator(`[data-change-admin="${mailOf('amoore2')}"]`).count()).toBe(0);
    expect(await created.first().innerText()).toMatch(/@.*fields imported/s);
    await page.click('nav >> text=Admins');
    await page.waitForSelector(`tr[data-admin="${mailOf('amoore2')}"]`);
    expect(await page.locator(`tr[data-admin="${mailOf('amoore2')}"]`).innerText()).toMatch(
      /owner/,
    );
    expect(await page.locator('tr[data-admin]').count()).toBe(5);
    // In the directory's run list an ADMIN run counts administrators, not users ("seen 0").
    await page.goto(`${origin}/directories/${dirId}`);
    const adminCounts = page.locator(`tr[data-run="${adminRunId}"] .counts-line > span`);
    await adminCounts.first().waitFor({ timeout: 15_000 });
    expect(await adminCounts.allInnerTexts()).toEqual(
      expect.arrayContaining(['admins seen 5', 'created 4']),
    );
    expect(await adminCounts.first().innerText()).toBe('admins seen 5');
    // The directory list keeps the last user sync as its "last run" and shows the admin run
    // under it (not in its place).
    await page.click('nav >> text=Directories');
    const row = page.locator(`tr[data-directory="${dirName}"]`);
    await expect
      .poll(() => row.locator('[data-testid="last-admin-sync"]').innerText(), {
        timeout: 15_000,
      })
      .toMatch(/^admin completed .* · admins seen 5$/);
    const lastSync = await row.locator('[data-testid="last-sync"] .counts-line').innerText();
    expect(lastSync).toMatch(/^seen /);
    expect(lastSync).not.toContain('admins');
  });

  it('an admin run whose role group was emptied is BLOCKED; its page names the held administrators; reject removes none', async () => {
    const HELP_DESK = 'cn=dirsync-help-desk,ou=groups,dc=example,dc=org';
    const members = demo.entries.find((e) => e.dn === HELP_DESK)!.attributes['member']!;
    const mails = members.map(
      (dn) => demo.entries.find((e) => e.dn === dn)!.attributes['mail']![0]!,
    );
    const replace = (values: string[]) =>
      `dn: ${HELP_DESK}\nchangetype: modify\nreplace: member\n${values.map((v) => `member: ${v}`).join('\n')}\n-\n`;
    // What OpenLDAP's refint leaves when every member is gone: its placeholder.
    await slapd.modify(replace([slapd.rootDn]));
    try {
      await page.goto(`${origin}/directories/${dirId}`);
      await page.selectOption('select[name="mode"]', 'ADMIN');
      await page.click('form.inline-form button[type="submit"]');
      await page.waitForURL(/\/runs\//);
      await page.waitForSelector('section[data-run-status="BLOCKED"]', { timeout: 60_000 });
      const plan = await page.locator('[data-testid="removals"]').innerText();
      expect(plan).toMatch(/Administrators to pending deletion\s*4 of 5/);
      const who = await page.locator('[data-testid="held-admins"]').innerText({ timeout: 10_000 });
      for (const mail of mails) expect(who).toContain(mail);
      await page.click('button:has-text("Reject")');
      await page.waitForSelector('section[data-run-status="REJECTED"]');
      const { admins } = await stack.gql<{ admins: { nodes: { status: string }[] } }>(
        `query($d: ID!) { admins(first: 50, filter: { directoryId: $d }) { nodes { status } } }`,
        { d: dirId },
      );
      expect(admins.nodes.map((a) => a.status)).toEqual(Array(5).fill('ACTIVE'));
    } finally {
      await slapd.modify(replace(members));
    }
  });

  it('manages manual administrators on the admins page; synced ones are read-only with the reason', async () => {
    const adminOf = async (email: string) =>
      (
        await stack.gql<{
          adminByEmail: { id: string; role: string; displayName: string | null } | null;
        }>(`query($e: String!) { adminByEmail(email: $e) { id role displayName } }`, { e: email })
      ).adminByEmail;
    const synced = demo.entries.find((e) => e.attributes['uid']?.[0] === 'amoore2')!.attributes[
      'mail'
    ]![0]!;
    await page.click('nav >> text=Admins');
    const syncedRow = page.locator(`tr[data-admin="${synced}"]`);
    await syncedRow.waitFor();
    expect(await syncedRow.locator('[data-testid="read-only"]').innerText()).toContain(
      `synced from ${dirName}; change its role groups in the source`,
    );
    expect(await syncedRow.locator('button').count()).toBe(0);
    expect(await page.locator('[data-testid="admin-total"]').innerText()).toBe('5 administrators');

    // Create: the API's answers shown by field — a bad e-mail, then an e-mail already taken.
    await page.click('button:has-text("Add administrator")');
    const form = page.locator('[data-testid="admin-form"]');
    await form.locator('input[name="email"]').fill('not an e-mail');
    await form.locator('button:has-text("Create administrator")').click();
    await form.locator('[data-field="email"] .field-error').waitFor();
    await form.locator('input[name="email"]').fill(synced.toUpperCase());
    await form.locator('button:has-text("Create administrator")').click();
    await expect
      .poll(() => form.locator('[data-field="email"] .field-error').innerText())
      .toMatch(/^An administrator with the e-mail .* already exists\. CONFLICT$/);
    await form.locator('input[name="email"]').fill('console.admin@example.org');
    await form.locator('select[name="role"]').selectOption('HELP_DESK');
    await form.locator('input[name="displayName"]').fill('Console Admin');
    await form.locator('button:has-text("Create administrator")').click();
    await form.waitFor({ state: 'detached' });
    const row = page.locator('tr[data-admin="console.admin@example.org"]');
    await row.waitFor();
    expect(await row.getAttribute('data-admin-source')).toBe('manual');
    expect(await row.innerText()).toMatch(/help desk/);
    expect(await page.locator('[data-testid="admin-total"]').innerText()).toBe('6 administrators');
    const made = await adminOf('console.admin@example.org');
    expect(made).toMatchObject({ role: 'HELP_DESK', displayName: 'Console Admin' });

    // Edit the role.
    await row.locator('button:has-text("Edit")').click();
    await form.locator('select[name="role"]').selectOption('USER_MANAGER');
    await form.locator('button:has-text("Save")').click();
    await form.waitFor({ state: 'detached' });
    await expect.poll(() => row.innerText()).toMatch(/user manager/);
    expect((await adminOf('console.admin@example.org'))?.role).toBe('USER_MANAGER');

    // Delete.
    page.once('dialog', (d) => void d.accept());
    await row.locator('button:has-text("Delete")').click();
    await row.waitFor({ state: 'detached' });
    expect(await adminOf('console.admin@example.org')).toBeNull();
    expect(await page.locator('[data-testid="admin-total"]').innerText()).toBe('5 administrators');
  });

  it('blocks a full sync over the deletion threshold; rejects one blocked run and approves the next', async () => {
    const [d, e] = singleGroupMembers(5).slice(3) as [
      ReturnType<typeof singleGroupMembers>[number],
      ReturnType<typeof singleGroupMembers>[number],
    ];
    const statusOf = async (username: string) =>
      (
        await stack.gql<{ userByUsername: { status: string } }>(
          `query($u: String!) { userByUsername(username: $u) { status } }`,
          { u: username },
        )
      ).userByUsername.status;
    await page.goto(`${origin}/directories/${dirId}/edit`);
    await page.fill('input[name="deletionThreshold.maxCount"]', '1');
    await page.click('button:has-text("Save")');
    await page.waitForURL(new RegExp(`/directories/${dirId}$`));
    await page.waitForSelector('dd:has-text("1 user, 20 %")');
    await slapd.modify([d, e].map((p) => memberChange('delete', p)).join('\n'));

    const blockedRun = async () => {
      await page.goto(`${origin}/directories/${dirId}`);
      await page.selectOption('select[name="mode"]', 'FULL');
      await page.click('form.inline-form button[type="submit"]');
      await page.waitForURL(/\/runs\//);
      await page.waitForSelector('section[data-run-status="BLOCKED"]', { timeout: 60_000 });
      const plan = await page.locator('[data-testid="removals"]').innerText();
      expect(plan).toMatch(/Users to pending deletion\s*2 of/);
      expect(plan).toContain('waiting for a decision');
      // Who exactly would go: both held users, by name.
      const who = await page.locator('[data-testid="held-users"]').innerText({ timeout: 10_000 });
      expect(who).toContain(d.username);
      expect(who).toContain(e.username);
    };

    // A dry run first: it ends COMPLETED, but lists and its page say a real run would block.
    await page.goto(`${origin}/directories/${dirId}`);
    await page.selectOption('select[name="mode"]', 'FULL');
    await page.check('input[name="dryRun"]');
    await page.click('form.inline-form button[type="submit"]'); // Plan
    await page.waitForURL(/\/runs\//);
    const dryRunId = page.url().split('/').pop()!;
    await page.waitForSelector('section[data-run-status="COMPLETED"]', { timeout: 60_000 });
    const dryPlan = page.locator('[data-testid="removals"]');
    expect(await dryPlan.locator('h2').innerText()).toBe('A real run would be blocked');
    expect(await dryPlan.innerText()).toMatch(/Users to pending deletion\s*2 of/);
    await page.click('nav >> text=Runs');
    await expect
      .poll(() => page.locator(`tr[data-run="${dryRunId}"] [data-status]`).innerText(), {
        timeout: 15_000,
      })
      .toBe('dry run · would block');

    await blockedRun();
    await shot('console-blocked.png');
    await page.click('nav >> text=Directories');
    await page.waitForSelector('.blocked-runs');
    await page.goBack();
    await page.click('button:has-text("Reject")');
    await page.waitForSelector('section[data-run-status="REJECTED"]');
    expect(await statusOf(d.username)).toBe('ACTIVE');

    await blockedRun();
    const changesTotal = page.locator('[data-testid="changes-total"]');
    await changesTotal.waitFor();
    const before = Number((await changesTotal.innerText()).replace(/\D/g, ''));
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click('button:has-text("Approve removals")');
    await page.waitForSelector('section[data-run-status="COMPLETED"]');
    expect(await page.locator('[data-testid="removals"]').innerText()).toMatch(
      /Decision\s*approve/i,
    );
    // Without a reload: nobody "would go" any more, and the changes now hold the removals (the
    // two users to pending deletion and their memberships).
    await expect.poll(() => page.locator('[data-testid="held-users"]').count()).toBe(0);
    await expect
      .poll(async () => Number((await changesTotal.innerText()).replace(/\D/g, '')))
      .toBeGreaterThanOrEqual(before + 2);
    expect(await statusOf(d.username)).toBe('PENDING_DELETION');
    expect(await statusOf(e.username)).toBe('PENDING_DELETION');
    await page.click('nav >> text=Trash');
    await page.waitForSelector(`tr[data-user="${d.username}"]`);

    await slapd.modify([d, e].map((p) => memberChange('add', p)).join('\n'));
  });

  it('creates a directory with the API validation errors shown beside each field', async () => {
    await page.click('nav >> text=Directories');
    await page.click('button:has-text("Add directory")');
    await page.fill('input[name="name"]', 'Console LDAP');
    await page.fill('input[name="ldap.url"]', 'http://not-ldap');
    await page.fill('textarea[name="selectedGroups"]', 'not a dn');
    await page.fill('input[name="restoreWindowDays"]', '2.5');
    await page.click('button:has-text("Create directory")');
    // Checked in the page first (a whole number), then by the API, field by field.
    await page.waitForSelector('[data-field="restoreWindowDays"] .field-error');
    await page.fill('input[name="restoreWindowDays"]', '7');
    await page.click('button:has-text("Create directory")');
    for (const field of ['ldap.url', 'ldap.bindDn', 'ldap.baseDn', 'selectedGroups']) {
      await page.waitForSelector(`[data-field="${field}"] .field-error`);
    }
    expect(await page.locator('[data-field="restoreWindowDays"] .field-error').count()).toBe(0);
    // Each problem reads as a sentence about the field's label, not its input path.
    expect(await page.locator('[data-field="ldap.bindDn"] .field-error').innerText()).toBe(
      'Bind DN is required.',
    );
    expect(await page.locator('[data-field="ldap.baseDn"] .field-error').innerText()).toBe(
      'Base DN is required.',
    );

    await page.fill('input[name="ldap.url"]', slapd.url);
    await page.fill('input[name="ldap.bindDn"]', slapd.rootDn);
    await page.fill('input[name="bindPassword"]', 'not-the-password');
    await page.fill('input[name="ldap.baseDn"]', slapd.suffix);
    await page.fill('textarea[name="selectedGroups"]', demo.directory.selectedGroups.join('\n'));
    // Test before saving: the wrong password fails the bind, and what depends on it is skipped.
    await page.click('button:has-text("Test connection")');
    await page.waitForSelector('[data-check="BIND"][data-check-status="FAILED"]');
    expect(await page.locator('[data-check="BIND"]').innerText()).toContain('INVALID_CREDENTIALS');
    expect(await page.locator('[data-check="REACH"]').getAttribute('data-check-status')).toBe('OK');
    await page.fill('input[name="bindPassword"]', slapd.rootPassword);
    stack.secretScanner.add('the console directory bind password', slapd.rootPassword);
    await page.click('button:has-text("Test connection")');
    await page.waitForSelector('[data-testid="connection-test"].ok');
    expect(await page.locator('[data-check="GROUP"][data-check-status="OK"]').count()).toBe(
      demo.directory.selectedGroups.length,
    );
    await page.click('button:has-text("Create directory")');
    await page.waitForURL(/\/directories\/[0-9a-f-]{36}$/);
    expect(await page.locator('h1').innerText()).toContain('Console LDAP');
    await page.click('button:has-text("Test connection")');
    await page.waitForSelector('[data-testid="connection-test"].ok');
    const { directories } = await stack.gql<{
      directories: {
        nodes: { name: string; hasBindPassword: boolean; selectedGroups: string[] }[];
      };
    }>(`{ directories { nodes { name hasBindPassword selectedGroups } } }`);
    const made = directories.nodes.find((d) => d.name === 'Console LDAP');
    expect(made?.hasBindPassword).toBe(true);
    expect(made?.selectedGroups).toHaveLength(demo.directory.selectedGroups.length);
  });

  it('creates a manual user, bypasses and deletes them', async () => {
    await page.click('nav >> text=Users');
    await page.click('button:has-text("Add user")');
    await page.fill('input[name="username"]', 'console.manual');
    await page.fill('input[name="email"]', 'console.manual@example.org');
    await page.fill('input[name="phones"]', 'not a phone');
    await page.click('button:has-text("Create user")');
    await page.waitForSelector('[data-field="phones"] .field-error');
    await page.fill('input[name="phones"]', '+44 20 7946 0999');
    await page.click('button:has-text("Create user")');
    await page.waitForSelector('section[data-user-status="ACTIVE"]');
    expect(await page.locator('main').innerText()).toContain('+442079460999');
    await page.click('button:has-text("Set bypass")');
    await page.waitForSelector('section[data-user-status="BYPASS"]');
    page.once('dialog', (d) => void d.accept());
    await page.click('button:has-text("Delete")');
    await page.waitForURL(/\/users$/);
    const { userByUsername } = await stack.gql<{ userByUsername: { id: string } | null }>(
      `{ userByUsername(username: "console.manual") { id } }`,
    );
    expect(userByUsername).toBeNull();
  });

  it("shows on the directory page whether its kind's connector runs, and what to start when none does", async () => {
    await page.goto(`${origin}/directories/${dirId}`);
    const status = page.locator('[data-testid="connector-status"]');
    await expect.poll(() => status.getAttribute('data-alive'), { timeout: 15_000 }).toBe('true');
    const instance = stack.connector.worker!.instanceId;
    expect(await status.innerText()).toContain('connector-ldap');
    expect(await status.innerText()).toContain(instance);
    // The connector stops (SIGTERM does the same): gone at once, and the page says what to do.
    await stack.connector.stop();
    try {
      await expect.poll(() => status.getAttribute('data-alive'), { timeout: 20_000 }).toBe('false');
      expect(await status.innerText()).toContain('no connector-ldap process is running');
      expect(await status.innerText()).toContain('NO_CONNECTOR');
      expect(await status.innerText()).toContain('services/connector-ldap');
    } finally {
      await stack.connector.start();
    }
    await expect.poll(() => status.getAttribute('data-alive'), { timeout: 20_000 }).toBe('true');
  });

  it('offers a role only what it may do', async () => {
    const readOnly = await stack.client('READ_ONLY');
    const helpDesk = await stack.client('HELP_DESK');
    const as = async (key: string) => {
      const ctx = await browser.newContext();
      const p = await ctx.newPage();
      await p.goto(`${origin}/`);
      await p.fill('input[name="apiKey"]', key);
      await p.click('button[type="submit"]');
      await p.waitForSelector(`tr[data-directory="${dirName}"]`);
      return { ctx, p };
    };
    const ro = await as(readOnly.key);
    expect(await ro.p.locator('button:has-text("Sync now")').count()).toBe(0);
    expect(await ro.p.locator('button:has-text("Add directory")').count()).toBe(0);
    await ro.p.goto(`${origin}/users?q=jdoe`);
    await ro.p.waitForSelector('tr[data-user="jdoe"]');
    expect(await ro.p.locator('button:has-text("Add user")').count()).toBe(0);
    await ro.p.goto(`${origin}/directories/${dirId}`);
    await ro.p.waitForSelector('h2:has-text("Runs")');
    expect(await ro.p.locator('form[data-sync-one="user"]').count()).toBe(0);
    // Administrators: listed, but nothing to add, edit or delete.
    await ro.p.goto(`${origin}/admins`);
    await ro.p.waitForSelector('tr[data-admin]');
    expect(await ro.p.locator('button:has-text("Add administrator")').count()).toBe(0);
    expect(await ro.p.locator('tr[data-admin] button').count()).toBe(0);
    await ro.ctx.close();

    const hd = await as(helpDesk.key);
    await hd.p.goto(`${origin}/directories/${dirId}`);
    await hd.p.waitForSelector('form[data-sync-one="user"]');
    expect(await hd.p.locator('button:has-text("Sync now")').count()).toBe(0);
    expect(await hd.p.locator('button:has-text("Edit")').count()).toBe(0);
    // A help desk key may sync one user, so it may plan one too.
    expect(await hd.p.locator('form[data-sync-one="user"] input[name="dryRun"]').count()).toBe(1);
    await hd.ctx.close();
  });

  it('signs in with the OIDC provider (authorization code + PKCE) as the role its token names', async () => {
    const idp = await startOidcProvider({ clientId: 'dirsync-console', audience: 'dirsync-api' });
    try {
      const gateway = await stack.startGateway({
        oidc: {
          issuer: idp.issuer,
          audience: 'dirsync-api',
          roleClaim: 'roles',
          roleMap: {},
          algorithms: ['RS256'],
        },
        console: {
          dir: CONSOLE_DIR,
          oidc: {
            issuer: idp.issuer,
            clientId: 'dirsync-console',
            scope: 'openid profile',
            token: 'access_token',
          },
        },
      });
      const gw = new URL(gateway.url).origin;
      const ctx = await browser.newContext();
      const p = await ctx.newPage();
      await p.goto(`${gw}/users`);
      await p.click(`button:has-text("Sign in with ${new URL(idp.issuer).host}")`);
      // The provider redirects back to /oidc/callback, the page exchanges the code and returns
      // to where the sign-in started.
      await p.waitForSelector('[data-testid="viewer"]');
      expect(p.url()).toBe(`${gw}/users`);
      expect(await p.locator('[data-testid="viewer"]').innerText()).toMatch(/Olivia Operator/);
      expect(await p.locator('[data-testid="viewer"]').innerText()).toMatch(/user manager · OIDC/);
      expect(idp.refused).toEqual([]);
      // USER_MANAGER may sync but not manage directories.
      await p.goto(`${gw}/directories`);
      await p.waitForSelector(`tr[data-directory="${dirName}"] button:has-text("Sync now")`);
      expect(await p.locator('button:has-text("Add directory")').count()).toBe(0);
      // A callback this tab did not start is refused.
      await p.goto(`${gw}/oidc/callback?code=x&state=forged`);
      await p.waitForSelector('.field-error');
      await ctx.close();
    } finally {
      await idp.close();
    }
  });

  it('signs out when the key stops working', async () => {
    const key = await stack.client('READ_ONLY', { name: 'revoked in the test' });
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await p.goto(`${origin}/`);
    await p.fill('input[name="apiKey"]', key.key);
    await p.click('button[type="submit"]');
    await p.waitForSelector('[data-testid="viewer"]');
    const { apiKeys } = await stack.gql<{ apiKeys: { nodes: { id: string; name: string }[] } }>(
      `{ apiKeys { nodes { id name } } }`,
    );
    const id = apiKeys.nodes.find((k) => k.name === 'revoked in the test')!.id;
    await stack.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { status } }`, { id });
    // The next request — a click, or the list's own polling, whichever comes first — answers
    // 401 and the tab returns to the sign-in page with the gateway's reason.
    await p.click('nav >> text=Users', { timeout: 2_000 }).catch(() => undefined);
    await p.waitForSelector('input[name="apiKey"]');
    expect(await p.locator('.notice').innerText()).toMatch(/revoked/i);
    await ctx.close();
  });
});
