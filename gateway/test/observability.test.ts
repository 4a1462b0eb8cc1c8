// Metrics and logs of every service after real syncs: a completed one of the demo directory and
// one that fails on a wrong password. Each service's `/metrics` is scraped over HTTP, the way
// Prometheus does, and every log line of the four services is captured.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDemo, startSlapd, waitFor, type Slapd } from '@dirsync/testkit';
import {
  demoDirectoryInput,
  startStack,
  syncAllAndWait,
  type RunView,
  type Stack,
} from './support/stack.js';
import { has, scrape, sum, type Sample } from './support/prometheus.js';

const WRONG_PASSWORD = 'not-the-password-Zq81';

describe('observability', () => {
  let slapd: Slapd;
  let stack: Stack;
  const lines: string[] = [];
  let directoryId: string;
  let badDirectoryId: string;
  let run: RunView;
  let failed: RunView;

  const metricsUrl = (graphqlUrl: string) => graphqlUrl.replace(/\/graphql$/, '/metrics');
  const urls = () => ({
    identity: metricsUrl(stack.identity.url),
    sync: metricsUrl(stack.sync.url),
    connector: `${stack.connector.healthUrl}/metrics`,
    gateway: metricsUrl(stack.gatewayUrl),
    auth: metricsUrl(stack.auth.url),
  });

  /** Scrape until `ok` holds: counters are written right after the commit that ends a run. */
  const scrapeUntil = (url: string, ok: (s: Sample[]) => boolean, message: string) =>
    waitFor(
      async () => {
        const samples = await scrape(url);
        return ok(samples) ? samples : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, message },
    );

  beforeAll(async () => {
    slapd = await startSlapd({ ldif: loadDemo().ldif });
    stack = await startStack({ logs: { write: (line) => void lines.push(line) } });
    const create = async (input: Record<string, unknown>) =>
      (
        await stack.gql<{ createDirectory: { id: string } }>(
          `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
          { input },
        )
      ).createDirectory.id;
    directoryId = await create(demoDirectoryInput(slapd));
    badDirectoryId = await create(demoDirectoryInput(slapd, { bindPassword: WRONG_PASSWORD }));
    run = await syncAllAndWait(stack, directoryId);
    failed = await syncAllAndWait(stack, badDirectoryId);
  });

  afterAll(async () => {
    await stack?.stop();
    await slapd?.dispose();
  });

  it('the runs ended as the metrics will say', () => {
    expect(run.status).toBe('COMPLETED');
    expect(run.counts.seen).toBeGreaterThan(1000);
    expect(failed.status).toBe('FAILED');
    expect(failed.errorCode).toBe('INVALID_CREDENTIALS');
  });

  it('sync counts runs by outcome and what they did to users', async () => {
    const samples = await scrapeUntil(
      urls().sync,
      (s) => has(s, 'dirsync_runs_finished_total', { directory_id: badDirectoryId }),
      'sync /metrics shows both runs',
    );
    const dir = { directory_id: directoryId };
    expect(sum(samples, 'dirsync_runs_started_total', { ...dir, mode: 'FULL' })).toBe(1);
    expect(
      sum(samples, 'dirsync_runs_finished_total', { ...dir, mode: 'FULL', status: 'COMPLETED' }),
    ).toBe(1);
    expect(
      sum(samples, 'dirsync_runs_finished_total', {
        directory_id: badDirectoryId,
        status: 'FAILED',
        error_code: 'INVALID_CREDENTIALS',
      }),
    ).toBe(1);
    expect(sum(samples, 'dirsync_run_objects_total', { ...dir, outcome: 'created' })).toBe(
      run.counts.created,
    );
    expect(sum(samples, 'dirsync_run_objects_total', { ...dir, outcome: 'error' })).toBe(
      run.counts.errors,
    );
    expect(
      sum(samples, 'dirsync_run_duration_seconds_count', { mode: 'FULL', status: 'COMPLETED' }),
    ).toBe(1);
    expect(has(samples, 'dirsync_outbox_backlog', { outbox: 'sync' })).toBe(true);
    expect(has(samples, 'dirsync_consumer_pending_messages', { consumer: 'sync-runs' })).toBe(true);
    expect(sum(samples, 'dirsync_runs_blocked')).toBe(0);
    // Process metrics come with every service.
    expect(has(samples, 'process_resident_memory_bytes', { service: 'sync' })).toBe(true);
  });

  it('identity counts the events and records it applied, per directory', async () => {
    const samples = await scrape(urls().identity);
    const dir = { directory_id: directoryId };
    expect(sum(samples, 'dirsync_objects_applied_total', { ...dir, type: 'user' })).toBe(
      run.counts.seen,
    );
    expect(sum(samples, 'dirsync_objects_applied_total', { ...dir, type: 'group' })).toBe(
      run.counts.groupsSeen,
    );
    expect(
      sum(samples, 'dirsync_events_applied_total', { type: 'runStarted', outcome: 'applied' }),
    ).toBe(2);
    expect(
      sum(samples, 'dirsync_events_applied_total', { type: 'runCompleted', outcome: 'applied' }),
    ).toBe(1);
    expect(sum(samples, 'dirsync_event_apply_seconds_count', { type: 'users' })).toBeGreaterThan(0);
    // Everything was applied: nothing waits for identity, nothing waits in its outbox.
    expect(sum(samples, 'dirsync_consumer_pending_messages', { consumer: 'identity' })).toBe(0);
    expect(has(samples, 'dirsync_outbox_backlog', { outbox: 'identity' })).toBe(true);
  });

  it('the connector counts the records it read and the source errors it met', async () => {
    const samples = await scrape(urls().connector);
    const labels = { connector: 'ldap', directory_id: directoryId };
    expect(sum(samples, 'dirsync_objects_read_total', { ...labels, type: 'user' })).toBe(
      run.counts.seen,
    );
    expect(sum(samples, 'dirsync_connector_runs_total', { ...labels, status: 'completed' })).toBe(
      1,
    );
    expect(
      sum(samples, 'dirsync_source_errors_total', {
        directory_id: badDirectoryId,
        code: 'INVALID_CREDENTIALS',
      }),
    ).toBe(1);
  });

  it('the gateway counts GraphQL operations and errors by code', async () => {
    const bad = await stack.gqlRaw(`{ directory(id: "not-a-directory") { nonsense } }`);
    expect(bad.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const samples = await scrape(urls().gateway);
    expect(
      sum(samples, 'dirsync_graphql_requests_total', { operation_type: 'mutation', outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(4);
    expect(
      sum(samples, 'dirsync_graphql_errors_total', { code: 'GRAPHQL_VALIDATION_FAILED' }),
    ).toBe(1);
  });

  it('auth counts the API keys the gateway asked about, by answer', async () => {
    // Well formed (dsk_<12>_<43>), so the gateway asks auth; no such key exists.
    const unknown = stack.clientFor(`dsk_${'A'.repeat(12)}_${'B'.repeat(43)}`);
    expect((await unknown.gqlRaw('{ directories { totalCount } }')).errors).toBeDefined();
    const samples = await scrape(urls().auth);
    // The stack's owner key was accepted (every request above); the made-up one was not.
    expect(sum(samples, 'dirsync_auth_key_checks_total', { result: 'accepted' })).toBeGreaterThan(
      0,
    );
    expect(sum(samples, 'dirsync_auth_key_checks_total', { result: 'unknown' })).toBe(1);
    expect(has(samples, 'process_resident_memory_bytes', { service: 'auth' })).toBe(true);
  });

  it('logs are JSON lines with run and directory ids, and never a password', () => {
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.length).toBeGreaterThan(10);
    for (const entry of parsed) {
      expect(typeof entry.service).toBe('string');
      expect(typeof entry.time).toBe('string');
    }
    for (const service of ['sync', 'identity', 'connector-ldap']) {
      const ofRun = parsed.filter((e) => e.service === service && e.runId === failed.id);
      expect(ofRun.length, `${service} logs about run ${failed.id}`).toBeGreaterThan(0);
      for (const e of ofRun) expect(e.directoryId).toBe(badDirectoryId);
    }
    const all = lines.join('\n');
    expect(all).not.toContain(WRONG_PASSWORD);
    expect(all).not.toContain(slapd.rootPassword);
  });
});
