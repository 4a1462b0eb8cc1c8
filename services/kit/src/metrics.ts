import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type LabelValues,
} from 'prom-client';

/**
 * Prometheus metrics of one service. Every dirsync metric is declared once, here, by the
 * `*Metrics()` functions below, so names, help texts and labels are the same in every service
 * and in the Grafana dashboard (`infra/grafana/dirsync.json`). A service creates one `Metrics`
 * (tests create one per service instance, so in-process services never share counters) and
 * hands it to `createHttpServer`, which serves it at `GET /metrics`.
 *
 * Labels are bounded: directory ids (a deployment has tens, not millions), modes, statuses,
 * error code names. Never a username, a run id or anything from a request.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly families = new Map<string, Counter | Gauge | Histogram>();

  constructor(opts: { service: string; defaultMetrics?: boolean }) {
    this.registry.setDefaultLabels({ service: opts.service });
    // Process metrics (CPU, memory, event-loop lag, GC) under the usual `process_`/`nodejs_`.
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    // Declared up front: a family first registered during a scrape would miss that scrape.
    this.collectErrors = this.counter(
      'dirsync_metric_collect_errors_total',
      'Scrape-time collections that failed or timed out (the gauge kept its previous value).',
      ['what'],
    );
  }

  /** Counts failures of `collectSafely`. */
  readonly collectErrors: Counter<'what'>;

  /** The counter `name`, created on first use; later calls return the same one. */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return this.family(name, () => new Counter({ name, help, labelNames, registers: [] }));
  }

  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    collect?: (gauge: Gauge<L>) => Promise<void> | void,
  ): Gauge<L> {
    return this.family(
      name,
      () =>
        new Gauge<L>({
          name,
          help,
          labelNames,
          registers: [],
          ...(collect
            ? {
                async collect(this: Gauge<L>) {
                  await collect(this);
                },
              }
            : {}),
        }),
    );
  }

  histogram<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: number[],
  ): Histogram<L> {
    return this.family(
      name,
      () => new Histogram({ name, help, labelNames, buckets, registers: [] }),
    );
  }

  /** The text exposition format, as `/metrics` serves it. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private family<M extends Counter | Gauge | Histogram>(name: string, make: () => M): M {
    const existing = this.families.get(name);
    if (existing) return existing as M;
    const metric = make();
    this.registry.registerMetric(metric);
    this.families.set(name, metric);
    return metric;
  }
}

/**
 * Sets a gauge from an async source at scrape time without letting a slow or failing source
 * fail the scrape: the gauge keeps its previous value and `dirsync_metric_collect_errors_total`
 * counts the failure.
 */
export async function collectSafely(
  metrics: Metrics,
  what: string,
  fn: () => Promise<void>,
  timeoutMs = 2_000,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out`)), timeoutMs);
      }),
    ]);
  } catch {
    metrics.collectErrors.inc({ what });
  } finally {
    clearTimeout(timer);
  }
}

const DURATION_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800];

/** Runs as the sync service sees them (every run ends there, also timeouts). */
export function runMetrics(m: Metrics) {
  return {
    started: m.counter(
      'dirsync_runs_started_total',
      'Runs queued, by directory, mode (FULL, DELTA, USER, ADMIN) and trigger (MANUAL, SCHEDULE).',
      ['directory_id', 'mode', 'trigger'],
    ),
    finished: m.counter(
      'dirsync_runs_finished_total',
      'Runs that ended, by directory, mode and outcome (COMPLETED, FAILED, BLOCKED), with the error code of failed runs.',
      ['directory_id', 'mode', 'status', 'error_code'],
    ),
    duration: m.histogram(
      'dirsync_run_duration_seconds',
      'From queueing to the end of a run, by mode and outcome.',
      ['mode', 'status'],
      DURATION_BUCKETS,
    ),
    objects: m.counter(
      'dirsync_run_objects_total',
      'What ended runs did to users, by directory and outcome (created, updated, unchanged, disabled, pending_deletion, restored, error).',
      ['directory_id', 'outcome'],
    ),
    blockedDeletions: m.counter(
      'dirsync_blocked_deletions_total',
      'Users and administrators whose removal a deletion threshold held back (runs that ended BLOCKED), by directory.',
      ['directory_id'],
    ),
    connectorsLost: m.counter(
      'dirsync_connectors_lost_total',
      'Runs failed with CONNECTOR_LOST because their connector stopped sending heartbeats, by connector kind.',
      ['connector'],
    ),
  };
}
export type RunMetrics = ReturnType<typeof runMetrics>;

/** Identity's apply path. */
export function applyMetrics(m: Metrics) {
  return {
    events: m.counter(
      'dirsync_events_applied_total',
      'DIRSYNC_EVENTS messages handled by identity, by event type and outcome (applied, duplicate, ignored, failed).',
      ['type', 'outcome'],
    ),
    seconds: m.histogram(
      'dirsync_event_apply_seconds',
      'Time to apply one event (one Postgres transaction), by event type.',
      ['type'],
      [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    ),
    objects: m.counter(
      'dirsync_objects_applied_total',
      'Records applied by identity, by directory and type (user, group, membership, error); rate() gives objects per second per directory.',
      ['directory_id', 'type'],
    ),
  };
}
export type ApplyMetrics = ReturnType<typeof applyMetrics>;

/** A connector worker and the source it reads. */
export function connectorMetrics(m: Metrics) {
  return {
    runs: m.counter(
      'dirsync_connector_runs_total',
      'Runs a connector executed, by connector kind, directory, outcome (completed, failed) and error code.',
      ['connector', 'directory_id', 'status', 'error_code'],
    ),
    objects: m.counter(
      'dirsync_objects_read_total',
      'Records read from the source and published, by connector kind, directory and type (user, group, membership, error).',
      ['connector', 'directory_id', 'type'],
    ),
    sourceErrors: m.counter(
      'dirsync_source_errors_total',
      'Failed requests to the source (retried or not) and failed runs, by connector kind, directory and code.',
      ['connector', 'directory_id', 'code'],
    ),
    throttled: m.counter(
      'dirsync_source_throttled_total',
      'Times the source asked the connector to slow down (HTTP 429, busy), by connector kind and directory.',
      ['connector', 'directory_id'],
    ),
    throttleWait: m.counter(
      'dirsync_source_throttle_wait_seconds_total',
      'Seconds spent waiting because the source throttled, by connector kind and directory.',
      ['connector', 'directory_id'],
    ),
  };
}
export type ConnectorMetrics = ReturnType<typeof connectorMetrics>;

/** The auth service: the API keys the gateway asks it about. */
export function authMetrics(m: Metrics) {
  return {
    keyChecks: m.counter(
      'dirsync_auth_key_checks_total',
      'API keys the gateway asked about, by answer (accepted, unknown, revoked, expired); the gateway caches answers for GATEWAY_KEY_CACHE_SECONDS.',
      ['result'],
    ),
  };
}
export type AuthMetrics = ReturnType<typeof authMetrics>;

/** GraphQL operations served (gateway and subgraphs). */
export function graphqlMetrics(m: Metrics) {
  return {
    requests: m.counter(
      'dirsync_graphql_requests_total',
      'GraphQL operations, by operation type (query, mutation) and outcome (ok, error).',
      ['operation_type', 'outcome'],
    ),
    errors: m.counter(
      'dirsync_graphql_errors_total',
      'GraphQL errors returned, by extensions.code.',
      ['code'],
    ),
    seconds: m.histogram(
      'dirsync_graphql_request_duration_seconds',
      'Time to answer a GraphQL operation, by operation type.',
      ['operation_type'],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    ),
  };
}

/** A durable JetStream consumer whose backlog `/metrics` reports. */
export interface WatchedConsumer {
  stream: string;
  durable: string;
}

/**
 * `dirsync_consumer_pending_messages` (not yet delivered) and
 * `dirsync_consumer_ack_pending_messages` (delivered, not yet acknowledged) of each consumer,
 * read from the server at scrape time. `info` is `jsm.consumers.info`.
 */
export function watchConsumers(
  m: Metrics,
  info: (
    stream: string,
    durable: string,
  ) => Promise<{ num_pending: number; num_ack_pending: number }>,
  consumers: readonly WatchedConsumer[],
): void {
  const labels = ['stream', 'consumer'] as const;
  let last: Promise<Map<string, { num_pending: number; num_ack_pending: number }>> | undefined;
  // Both gauges are collected in the same scrape; one round of requests serves both.
  const read = () => {
    last ??= (async () => {
      const out = new Map<string, { num_pending: number; num_ack_pending: number }>();
      await Promise.all(
        consumers.map(async (c) => {
          await collectSafely(m, `consumer ${c.durable}`, async () => {
            out.set(`${c.stream}\u0000${c.durable}`, await info(c.stream, c.durable));
          });
        }),
      );
      setImmediate(() => (last = undefined));
      return out;
    })();
    return last;
  };
  const gauge = (
    name: string,
    help: string,
    pick: (i: { num_pending: number; num_ack_pending: number }) => number,
  ) =>
    m.gauge(name, help, labels, async (g) => {
      const infos = await read();
      for (const c of consumers) {
        const i = infos.get(`${c.stream}\u0000${c.durable}`);
        if (i)
          g.set(
            { stream: c.stream, consumer: c.durable } as LabelValues<(typeof labels)[number]>,
            pick(i),
          );
      }
    });
  gauge(
    'dirsync_consumer_pending_messages',
    'Messages of the stream the consumer has not been delivered yet (consumer lag).',
    (i) => i.num_pending,
  );
  gauge(
    'dirsync_consumer_ack_pending_messages',
    'Messages delivered to the consumer and not acknowledged yet.',
    (i) => i.num_ack_pending,
  );
}

/** `dirsync_outbox_backlog{outbox}`: rows of a transactional outbox not yet published. */
export function watchOutbox(m: Metrics, outbox: string, pending: () => Promise<number>): void {
  m.gauge(
    'dirsync_outbox_backlog',
    'Outbox rows written but not yet published to NATS.',
    ['outbox'],
    async (g) => {
      await collectSafely(m, `outbox ${outbox}`, async () => {
        g.set({ outbox }, await pending());
      });
    },
  );
}

/**
 * An Apollo Server plugin that counts operations, errors by code and answer times into
 * `dirsync_graphql_*`. Parse and validation failures count as operation type "unknown".
 */
export function graphqlMetricsPlugin(m: Metrics): ApolloServerPlugin<BaseContext> {
  const g = graphqlMetrics(m);
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      let type = 'unknown';
      return {
        async didResolveOperation(ctx) {
          type = ctx.operation?.operation ?? 'unknown';
        },
        async willSendResponse(ctx) {
          // The formatted errors carry the codes clients see; incremental delivery has none here.
          const body = ctx.response.body;
          const errors =
            body.kind === 'single' ? (body.singleResult.errors ?? []) : (ctx.errors ?? []);
          g.requests.inc({ operation_type: type, outcome: errors.length ? 'error' : 'ok' });
          for (const e of errors) {
            const code = e.extensions?.code;
            g.errors.inc({ code: typeof code === 'string' ? code : 'UNKNOWN' });
          }
          g.seconds.observe(
            { operation_type: type },
            Number(process.hrtime.bigint() - started) / 1e9,
          );
        },
      };
    },
  };
}
