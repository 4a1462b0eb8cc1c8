/** Configuration of one identity service instance (parsed from the environment by `env.ts`). */
export interface IdentityConfig {
  /** Postgres database; created at start when missing. */
  databaseUrl: string;
  /** Postgres schema holding every identity table; created at start when missing. */
  databaseSchema: string;
  databasePoolMax: number;
  natsUrl: string;
  /** Prefix of every stream and subject (tests use one per file); "" in production. */
  natsNamespace: string;
  /** HTTP port for /graphql, /healthz, /readyz; 0 picks a free port. */
  port: number;
  host: string;
  logLevel: string;
  /** The gateway's Ed25519 public key (base64): only requests it signed are answered. */
  gatewayPublicKey: string;
  /** How often the outbox relay looks for rows written by another replica. */
  outboxPollMs: number;
  /**
   * Deliveries of an event whose apply fails before identity gives up on it and fails its run
   * (a poison event must not stop every directory's sync). Default 5.
   */
  eventMaxDeliveries?: number;
  /** Delay before a failed event is retried; doubles per delivery (up to 30 s). Default 1000. */
  eventRetryDelayMs?: number;
  /**
   * How often the purge job deletes what a restore window let go (users and administrators
   * whose `purge_after` has passed). Default 60; 0 turns the job off.
   */
  purgeIntervalSeconds?: number;
  /**
   * How long run history (`run_changes`: every run's per-object changes) is kept; the purge job
   * deletes older changes on each pass. Default 30.
   */
  runHistoryRetentionDays?: number;
}
