import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpServer, type HttpServer } from './http.js';
import {
  Metrics,
  applyMetrics,
  collectSafely,
  connectorMetrics,
  graphqlMetrics,
  runMetrics,
  watchConsumers,
  watchOutbox,
} from './metrics.js';

describe('Metrics', () => {
  let http: HttpServer | undefined;
  afterEach(async () => {
    await http?.close();
    http = undefined;
  });

  it('declares each family once and labels every sample with the service', async () => {
    const m = new Metrics({ service: 'test', defaultMetrics: false });
    runMetrics(m).started.inc({ directory_id: 'd1', mode: 'FULL', trigger: 'MANUAL' });
    // A second declaration (another component of the same service) returns the same counter.
    runMetrics(m).started.inc({ directory_id: 'd1', mode: 'FULL', trigger: 'MANUAL' });
    const text = await m.text();
    expect(text).toContain(
      'dirsync_runs_started_total{directory_id="d1",mode="FULL",trigger="MANUAL",service="test"} 2',
    );
    expect(text).toContain('# HELP dirsync_runs_started_total Runs queued');
  });

  it('a failing or slow scrape-time source keeps the gauge and counts the failure', async () => {
    const m = new Metrics({ service: 'test', defaultMetrics: false });
    let fail = false;
    watchOutbox(m, 'o', async () => {
      if (fail) throw new Error('database away');
      return 7;
    });
    expect(await m.text()).toContain('dirsync_outbox_backlog{outbox="o",service="test"} 7');
    fail = true;
    expect(await m.text()).toContain('dirsync_outbox_backlog{outbox="o",service="test"} 7');
    // Families are read in parallel: the failure shows from the next scrape on.
    const text = await m.text();
    expect(text).toContain('dirsync_metric_collect_errors_total{what="outbox o",service="test"} 1');
    await collectSafely(m, 'slow', () => new Promise((r) => setTimeout(r, 1_000)), 10);
    expect(await m.text()).toContain(
      'dirsync_metric_collect_errors_total{what="slow",service="test"} 1',
    );
  });

  it('createHttpServer serves them at /metrics in the text format', async () => {
    const m = new Metrics({ service: 'test' });
    http = createHttpServer({ metrics: m, health: { ready: async () => [] } });
    const url = (await http.listen(0, '127.0.0.1')).replace(/\/graphql$/, '/metrics');
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.text()).toMatch(/^process_cpu_user_seconds_total\{service="test"\} /m);
  });
});

describe('the Grafana dashboard (infra/grafana/dirsync.json)', () => {
  it('queries only metrics that the services declare', () => {
    const m = new Metrics({ service: 'test', defaultMetrics: true });
    runMetrics(m);
    applyMetrics(m);
    connectorMetrics(m);
    graphqlMetrics(m);
    watchOutbox(m, 'o', async () => 0);
    watchConsumers(m, async () => ({ num_pending: 0, num_ack_pending: 0 }), []);
    m.gauge('dirsync_runs_blocked', 'declared by the sync service', []);
    const declared = new Set(m.registry.getMetricsAsArray().map((x) => x.name));
    const dashboard = readFileSync(
      new URL('../../../infra/grafana/dirsync.json', import.meta.url),
      'utf8',
    );
    const used = new Set(
      [...dashboard.matchAll(/\b((?:dirsync|process)_[a-z_]+?)(?:_bucket|_count|_sum)?\b/g)].map(
        (x) => x[1]!,
      ),
    );
    expect(used.size).toBeGreaterThan(10);
    for (const name of used) expect(declared, `${name} is declared`).toContain(name);
  });
});
