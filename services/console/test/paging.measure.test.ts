// A measurement, not a check (skipped unless DIRSYNC_CONSOLE_MEASURE=1): the users page over
// 100,000 users. Cursor paging should cost the same on the first page and the 2,000th, through
// the API and in the browser.
//
//   DIRSYNC_CONSOLE_MEASURE=1 npx vitest run services/console/test/paging.measure.test.ts
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { startStack, type Stack } from '../../../gateway/test/support/stack.js';
import { CHROMIUM_ARGS, chromiumPath } from './support/chromium.js';

const USERS = 100_000;
const CONSOLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe.skipIf(!process.env.DIRSYNC_CONSOLE_MEASURE)('users page over 100,000 users', () => {
  let stack: Stack;
  let browser: Browser;

  beforeAll(async () => {
    stack = await startStack({ gateway: { console: { dir: CONSOLE_DIR } } });
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      headless: true,
      args: CHROMIUM_ARGS,
    });
    const { createDirectory } = await stack.gql<{ createDirectory: { id: string } }>(
      `mutation { createDirectory(input: { name: "big", ldap: { url: "ldap://127.0.0.1:1",
         bindDn: "cn=x", baseDn: "dc=x" }, bindPassword: "x", selectedGroups: ["cn=g,dc=x"],
         scheduleIntervalMinutes: 0, deltaIntervalMinutes: 0 }) { id } }`,
    );
    const db = new pg.Client({ connectionString: stack.databaseUrl });
    await db.connect();
    // As the apply path would leave them: one row per user, every tenth disabled.
    await db.query(
      `insert into identity.users (directory_id, external_id, username, username_key, email,
         first_name, last_name, display_name, status, content_hash)
       select $1, 'ext-' || g, 'user' || lpad(g::text, 6, '0'), 'user' || lpad(g::text, 6, '0'),
         'user' || g || '@example.org', 'First' || g, 'Last' || g, 'User ' || g,
         case when g % 10 = 0 then 'disabled' else 'active' end, 'h'
       from generate_series(1, $2::int) g`,
      [createDirectory.id, USERS],
    );
    await db.query('vacuum analyze identity.users');
    const plan = await db.query(
      `explain analyze select u.* from identity.users as u order by u.username_key asc, u.id asc limit 51`,
    );
    console.log(plan.rows.map((r: Record<string, string>) => Object.values(r)[0]).join('\n'));
    await db.end();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const QUERY = `query($after: String, $filter: UserFilter) { users(first: 50, after: $after, filter: $filter) {
    nodes { id username displayName email status synced directory { id name } lastDirectorySync
            pendingDeletionAt purgeAfter removalReason }
    pageInfo { hasNextPage endCursor } } }`;

  async function timed(after: string | null, filter: Record<string, unknown> = {}) {
    const t = performance.now();
    const r = await stack.gql<{ users: { pageInfo: { endCursor: string } } }>(QUERY, {
      after,
      filter,
    });
    return { ms: performance.now() - t, end: r.users.pageInfo.endCursor };
  }

  it('costs the same on the first page and deep into the list (API)', async () => {
    // A cursor 99,950 users in: walk there 500 at a time.
    let deep: string | null = null;
    for (let i = 0; i < (USERS - 50) / 500; i++) {
      const r: { users: { pageInfo: { endCursor: string } } } = await stack.gql(
        `query($after: String) { users(first: 500, after: $after) { pageInfo { endCursor } } }`,
        { after: deep },
      );
      deep = r.users.pageInfo.endCursor;
    }
    const cases = [
      ['page 1', null, {}],
      ['page 2,000 (after 99,950 users)', deep, {}],
      ['page 1, status DISABLED', null, { status: ['DISABLED'] }],
      ['page 1, search "user0999"', null, { search: 'user0999' }],
    ] as [string, string | null, Record<string, unknown>][];
    // Rounds over every case, so a busy moment of the machine hits all of them alike.
    const samples = new Map<string, number[]>(cases.map(([name]) => [name, []]));
    for (let round = 0; round < 21; round++) {
      for (const [name, after, filter] of cases) {
        samples.get(name)!.push((await timed(after, filter)).ms);
      }
    }
    const rows: Record<string, number> = {};
    for (const [name, xs] of samples) rows[name] = Math.round(median(xs.slice(1)) * 10) / 10;
    const counts: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = performance.now();
      await stack.gql(`{ users(first: 0) { totalCount } }`);
      counts.push(performance.now() - t);
    }
    rows['totalCount of 100,000'] = Math.round(median(counts) * 10) / 10;
    console.log('users(first: 50) through the gateway, median ms:', rows);
    expect(rows['page 2,000 (after 99,950 users)']!).toBeLessThan(rows['page 1']! * 3 + 20);
  }, 300_000);

  it('pages in the browser at the same speed (Next → rows shown)', async () => {
    const page = await browser.newPage();
    const origin = new URL(stack.gatewayUrl).origin;
    await page.goto(`${origin}/`);
    await page.fill('input[name="apiKey"]', stack.key);
    await page.click('button[type="submit"]');
    await page.waitForSelector('[data-testid="viewer"]');
    await page.click('nav >> text=Users');
    await page.waitForSelector('tr[data-user="user000001"]');
    const samples: number[] = [];
    for (let p = 1; p <= 40; p++) {
      const first = `user${String(p * 50 + 1).padStart(6, '0')}`;
      const t = performance.now();
      await page.click('button:has-text("Next")');
      await page.waitForSelector(`tr[data-user="${first}"]`);
      samples.push(performance.now() - t);
    }
    console.log(
      `Next → 50 rows shown, pages 2–41: median ${Math.round(median(samples))} ms, ` +
        `first 10 ${Math.round(median(samples.slice(0, 10)))} ms, last 10 ${Math.round(median(samples.slice(-10)))} ms`,
    );
  }, 300_000);
});
