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
  /** How often the outbox relay looks for rows written by another replica. */
  outboxPollMs: number;
}
