import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { ErrorCode } from '@dirsync/proto';
import { DirsyncError, type LdapSettings, type Logger } from '@dirsync/kit';
import { Client, ResultCodeError, type Control, type Entry } from 'ldapts';
import { translateLdapError, type LdapPhase } from './errors.js';
import { collectRanged, rangeFrom } from './ranges.js';

export interface SessionOptions {
  settings: LdapSettings;
  /** The bind password; kept inside ldapts only for the bind. */
  password: string;
  pageSize: number;
  binaryAttributes: readonly string[];
  signal: AbortSignal;
  logger: Logger;
  /** Told how many entries every search returned (the run's `entriesRead`). */
  countEntries?: (n: number) => void;
  /** Called once StartTLS has succeeded (before the bind): the connection test's TLS step. */
  onStartTls?: () => void;
}

export interface SearchOptions {
  filter: string;
  attributes: string[];
  scope?: 'base' | 'one' | 'sub';
  /** For messages: what is being read ("groups", "users"). */
  what: string;
}

/** `host:port` of an LDAP URL, with the scheme's default port, and whether it is ldaps://. */
export function ldapServer(url: string): { host: string; port: number; secure: boolean } {
  const u = new URL(url);
  const secure = u.protocol.toLowerCase() === 'ldaps:';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return { host, port: u.port ? Number(u.port) : secure ? 636 : 389, secure };
}

/** The TLS options of a connection to `host` (ldaps:// and StartTLS alike). */
export function ldapTlsOptions(s: LdapSettings, host: string): ConnectionOptions {
  return {
    ca: s.tlsCaPem ? [s.tlsCaPem] : undefined,
    rejectUnauthorized: s.tlsRejectUnauthorized,
    // Certificate names are checked against the configured host; SNI only for names.
    host,
    servername: isIP(host) ? undefined : host,
    minVersion: 'TLSv1.2',
  };
}

/**
 * One bound LDAP connection for one run. Every ldapts error goes through
 * {@link translateLdapError} with the phase it happened in. The session never reconnects: a
 * connection lost mid-run fails the run (`SOURCE_UNAVAILABLE`) instead of silently continuing
 * on a fresh, unauthenticated connection.
 */
export class LdapSession {
  readonly server: string;
  private readonly client: Client;
  private bound = false;
  private closed = false;
  private readonly onAbort: () => void;

  private constructor(private readonly opts: SessionOptions) {
    const { host, port, secure } = ldapServer(opts.settings.url);
    this.server = `${host}:${port}`;
    this.client = new Client({
      url: opts.settings.url,
      timeout: opts.settings.timeoutMs,
      connectTimeout: opts.settings.timeoutMs,
      // ldapts treats any TLS option as "connect with TLS", so StartTLS gets its options later.
      tlsOptions: secure ? this.tlsOptions(host) : undefined,
      strictDN: false,
    });
    this.onAbort = () => void this.close();
    opts.signal.addEventListener('abort', this.onAbort, { once: true });
  }

  private tlsOptions(host: string): ConnectionOptions {
    return ldapTlsOptions(this.opts.settings, host);
  }

  /** Connect (StartTLS when configured) and simple-bind. */
  static async open(opts: SessionOptions): Promise<LdapSession> {
    const session = new LdapSession(opts);
    try {
      await session.connectAndBind();
      return session;
    } catch (err) {
      await session.close();
      throw err;
    }
  }

  private fail(err: unknown, phase: LdapPhase, extra: { base?: string; what?: string } = {}) {
    if (this.opts.signal.aborted)
      return new DirsyncError(ErrorCode.INTERNAL, 'the run was aborted');
    return translateLdapError(err, {
      phase,
      server: this.server,
      bindDn: this.opts.settings.bindDn,
      ...extra,
    });
  }

  private async connectAndBind(): Promise<void> {
    const s = this.opts.settings;
    if (s.startTls && !s.url.toLowerCase().startsWith('ldaps:')) {
      try {
        const host = new URL(s.url).hostname.replace(/^\[|\]$/g, '');
        await this.client.startTLS(this.tlsOptions(host));
        this.opts.onStartTls?.();
      } catch (err) {
        throw this.fail(err, err instanceof ResultCodeError ? 'starttls' : 'connect');
      }
    }
    try {
      await this.client.bind(s.bindDn, this.opts.password);
      this.bound = true;
    } catch (err) {
      throw this.fail(err, 'bind');
    }
  }

  private ensureUsable(what: string): void {
    this.opts.signal.throwIfAborted();
    if (this.closed || !this.bound || !this.client.isBound) {
      throw new DirsyncError(
        ErrorCode.SOURCE_UNAVAILABLE,
        `the connection to ${this.server} was lost before reading ${what}`,
      );
    }
  }

  /**
   * A paged search (RFC 2696) with the run's page size, yielding one page of entries at a time
   * so callers stream instead of holding the whole result.
   */
  async *pages(base: string, opts: SearchOptions): AsyncGenerator<Entry[]> {
    this.ensureUsable(opts.what);
    const iterator = this.client.searchPaginated(base, {
      scope: opts.scope ?? 'sub',
      filter: opts.filter,
      attributes: opts.attributes,
      // ldapts matches these names case-sensitively against the server's spelling
      explicitBufferAttributes: this.opts.binaryAttributes.flatMap((a) => [a, a.toLowerCase()]),
      paged: { pageSize: this.opts.pageSize },
      derefAliases: 'never',
    });
    // Ask for the next page as soon as one arrives, so the server prepares it while this one
    // is being processed (the paged-results cookie allows nothing earlier).
    let pending = iterator.next();
    let references = 0;
    for (;;) {
      let next: IteratorResult<{ searchEntries: Entry[]; searchReferences?: string[] }>;
      try {
        next = await pending;
      } catch (err) {
        throw this.fail(err, 'read', { base, what: opts.what });
      }
      if (next.done) {
        // Continuation references point into other naming contexts or domains (an AD search
        // from the domain root names the Configuration partition, DomainDnsZones, …). They are
        // never followed: the directory is what this server holds under the base.
        if (references > 0) {
          this.opts.logger.info(
            { base, what: opts.what, references },
            'skipped continuation references (other partitions or domains) the server returned',
          );
        }
        return;
      }
      references += next.value.searchReferences?.length ?? 0;
      this.opts.signal.throwIfAborted();
      this.opts.countEntries?.(next.value.searchEntries.length);
      pending = iterator.next();
      // If the caller stops early, the prefetched page's failure must not go unhandled.
      pending.catch(() => undefined);
      yield next.value.searchEntries;
    }
  }

  /**
   * The first `n` entries of a search (one page of a paged search, then abandoned): the
   * connection test's sample read.
   */
  async sample(base: string, opts: SearchOptions, n: number): Promise<Entry[]> {
    this.ensureUsable(opts.what);
    const iterator = this.client.searchPaginated(base, {
      scope: opts.scope ?? 'sub',
      filter: opts.filter,
      attributes: opts.attributes,
      explicitBufferAttributes: this.opts.binaryAttributes.flatMap((a) => [a, a.toLowerCase()]),
      paged: { pageSize: n },
      derefAliases: 'never',
    });
    try {
      const first = await iterator.next();
      const entries = first.done ? [] : first.value.searchEntries;
      this.opts.countEntries?.(entries.length);
      return entries.slice(0, n);
    } catch (err) {
      throw this.fail(err, 'read', { base, what: opts.what });
    } finally {
      await iterator.return?.(undefined).catch(() => undefined);
    }
  }

  /**
   * The rest of a ranged attribute of one entry, from value `start` on (`member;range=1500-*`,
   * then wherever each answer ends, until the `*` end marker). `what` names the entry.
   */
  async rangedValues(
    dn: string,
    attribute: string,
    start: number,
    what: string,
  ): Promise<(string | Buffer)[]> {
    const out: (string | Buffer)[] = [];
    let from: number | undefined = start;
    while (from !== undefined) {
      this.ensureUsable(what);
      let entries: Entry[];
      try {
        ({ searchEntries: entries } = await this.client.search(dn, {
          scope: 'base',
          filter: '(objectClass=*)',
          attributes: [rangeFrom(attribute, from)],
          derefAliases: 'never',
        }));
      } catch (err) {
        throw this.fail(err, 'read', { base: dn, what });
      }
      this.opts.countEntries?.(entries.length);
      const entry = entries[0];
      if (!entry) {
        throw new DirsyncError(
          ErrorCode.SOURCE_UNAVAILABLE,
          `"${dn}" disappeared from ${this.server} while its ${attribute} values were being read`,
        );
      }
      const { values, next } = collectRanged(entry, attribute);
      out.push(...values);
      if (next !== undefined && next <= from) {
        throw new DirsyncError(
          ErrorCode.SOURCE_ERROR,
          `${this.server} answered a range of ${attribute} of "${dn}" that does not advance past ${from}`,
        );
      }
      from = next;
    }
    return out;
  }

  /**
   * One search that is not paged, with request controls (DirSync, show-deleted) and its own
   * binary attributes; counted in the run's entries read.
   */
  async search(
    base: string,
    opts: SearchOptions & { binaryAttributes?: readonly string[]; controls?: Control[] },
  ): Promise<Entry[]> {
    this.ensureUsable(opts.what);
    try {
      const { searchEntries } = await this.client.search(
        base,
        {
          scope: opts.scope ?? 'sub',
          filter: opts.filter,
          attributes: opts.attributes,
          explicitBufferAttributes: (opts.binaryAttributes ?? []).flatMap((a) => [
            a,
            a.toLowerCase(),
          ]),
          derefAliases: 'never',
        },
        opts.controls,
      );
      this.opts.countEntries?.(searchEntries.length);
      return searchEntries;
    } catch (err) {
      throw this.fail(err, 'read', { base, what: opts.what });
    }
  }

  /** The root DSE's attributes (`dsServiceName`, `highestCommittedUSN`, …). */
  async rootDse(attributes: string[]): Promise<Entry | undefined> {
    const [root] = await this.search('', {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes,
      what: 'the root DSE',
    });
    return root;
  }

  /**
   * One entry by DN (a base search with `filter`), or undefined when there is none or it does
   * not match; other errors are thrown translated.
   */
  async entry(
    dn: string,
    filter: string,
    attributes: string[],
    what: string,
  ): Promise<Entry | undefined> {
    this.ensureUsable(what);
    try {
      const result = await this.client.search(dn, {
        scope: 'base',
        filter,
        attributes,
        explicitBufferAttributes: [...this.opts.binaryAttributes],
        derefAliases: 'never',
      });
      this.opts.countEntries?.(result.searchEntries.length);
      return result.searchEntries[0];
    } catch (err) {
      const translated = this.fail(err, 'read', { base: dn, what });
      if (translated.code === ErrorCode.BASE_DN_NOT_FOUND) return undefined;
      throw translated;
    }
  }

  /** Whether an entry exists (a base search); other errors are thrown translated. */
  async exists(dn: string, what: string): Promise<boolean> {
    this.ensureUsable(what);
    try {
      const result = await this.client.search(dn, {
        scope: 'base',
        filter: '(objectClass=*)',
        attributes: ['1.1'],
      });
      this.opts.countEntries?.(result.searchEntries.length);
      return result.searchEntries.length > 0;
    } catch (err) {
      const translated = this.fail(err, 'read', { base: dn, what });
      if (translated.code === ErrorCode.BASE_DN_NOT_FOUND) return false;
      throw translated;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.opts.signal.removeEventListener('abort', this.onAbort);
    try {
      await this.client.unbind();
    } catch (err) {
      this.opts.logger.debug({ error: String(err) }, 'unbind failed');
    }
  }
}
