import pg from 'pg';
import type { NatsConnection } from 'nats';

/**
 * Watches a whole test stack for leaked secrets: every secret the tests hand to dirsync (bind
 * passwords, client secrets, private keys, API keys, the encryption and signing keys) is
 * registered, and at the end every log line, every GraphQL response, every message kept in the
 * namespace's NATS streams and every row of the database (as text) is searched for them — plain,
 * JSON-escaped, base64 and base64url. The one allowed appearance is a key in the answer of the
 * `createApiKey` that issued it.
 */
export class SecretScanner {
  private readonly secrets = new Map<string, string>();
  private readonly texts: { where: string; text: string }[] = [];

  /** Register a secret value (values under 8 characters are too likely to collide). */
  add(label: string, value: string | undefined | null): void {
    if (typeof value !== 'string' || value.length < 8) return;
    this.secrets.set(value, label);
    const pem = /-----BEGIN [A-Z ]*PRIVATE KEY-----([\s\S]*?)-----END/.exec(value);
    for (const line of pem?.[1]?.split(/\s+/) ?? []) {
      if (line.length >= 40) this.secrets.set(line, `${label} (private key line)`);
    }
  }

  /** Register the secret-named values of GraphQL variables. */
  addVariables(variables: unknown, path = 'variables'): void {
    if (Array.isArray(variables)) {
      variables.forEach((v, i) => this.addVariables(v, `${path}[${i}]`));
    } else if (variables && typeof variables === 'object') {
      for (const [k, v] of Object.entries(variables)) {
        if (typeof v === 'string' && /password|secret|certificate|privatekey/i.test(k)) {
          this.add(`${path}.${k}`, v);
        } else {
          this.addVariables(v, `${path}.${k}`);
        }
      }
    }
  }

  /** Remember text that must not contain a secret. */
  observe(where: string, text: string): void {
    this.texts.push({ where, text });
  }

  private forms(secret: string): string[] {
    const b = Buffer.from(secret, 'utf8');
    return [
      ...new Set([
        secret,
        JSON.stringify(secret).slice(1, -1),
        b.toString('base64'),
        b.toString('base64url'),
      ]),
    ];
  }

  private search(where: string, hay: string, found: Set<string>): void {
    for (const [secret, label] of this.secrets) {
      if (this.forms(secret).some((f) => hay.includes(f))) found.add(`${label} in ${where}`);
    }
  }

  /** Read what the stack kept in NATS and Postgres, then search everything. */
  async findings(opts: {
    nc: NatsConnection;
    namespace: string;
    databaseUrl: string;
  }): Promise<string[]> {
    const found = new Set<string>();
    for (const { where, text } of this.texts) this.search(where, text, found);

    const jsm = await opts.nc.jetstreamManager();
    for await (const info of jsm.streams.list()) {
      const name = info.config.name;
      if (!name.startsWith(`${opts.namespace}_`)) continue;
      const last = Math.min(info.state.last_seq, info.state.first_seq + 50_000);
      for (let seq = info.state.first_seq; seq <= last && info.state.messages > 0; seq++) {
        const m = await jsm.streams.getMessage(name, { seq }).catch(() => undefined);
        if (m)
          this.search(
            `stream ${name} #${seq} (${m.subject})`,
            Buffer.from(m.data).toString('latin1') + Buffer.from(m.data).toString('utf8'),
            found,
          );
      }
    }

    const client = new pg.Client({ connectionString: opts.databaseUrl });
    await client.connect();
    try {
      const tables = await client.query<{ s: string; t: string }>(
        `select table_schema as s, table_name as t from information_schema.tables
          where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`,
      );
      for (const { s, t } of tables.rows) {
        const q = `select r::text as row from "${s.replaceAll('"', '""')}"."${t.replaceAll('"', '""')}" r`;
        const rows = await client.query<{ row: string }>(q);
        for (const r of rows.rows) this.search(`table ${s}.${t}`, r.row, found);
      }
    } finally {
      await client.end();
    }
    return [...found].sort();
  }
}
