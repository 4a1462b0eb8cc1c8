import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { rootCertificates } from 'node:tls';
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  type TokenCredential,
} from '@azure/identity';
import {
  AuthenticationHandler,
  Client,
  GraphClientError,
  GraphError,
  type AuthenticationProvider,
  type Context,
  type Middleware,
} from '@microsoft/microsoft-graph-client';
import { entraEndpoints, type EntraSettings, type Logger, type SourceReporter } from '@dirsync/kit';

/** The token scope of Microsoft Graph on a cloud: `<graph url>/.default`. */
const scopeOf = (graphUrl: string) => `${graphUrl}/.default`;

/** Login hosts MSAL knows; any other authority host (a test fake, Azure Stack) skips discovery. */
const KNOWN_LOGIN_HOSTS = new Set([
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
  'login.windows.net',
  'login.microsoft.com',
]);
const KNOWN_GRAPH_HOSTS = new Set([
  'graph.microsoft.com',
  'graph.microsoft.us',
  'dod-graph.microsoft.us',
  'microsoftgraph.chinacloudapi.cn',
]);

/** How Graph requests are retried (HTTP 429, 503, 504 and dropped connections). */
export interface RetryPolicy {
  /** Attempts per request, the first included. */
  maxAttempts: number;
  /** First back-off when the server gives no Retry-After; doubles each attempt (full jitter). */
  baseDelayMs: number;
  /** Upper bound of one back-off. */
  maxDelayMs: number;
  /** A Retry-After longer than this fails the request instead of waiting. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 120_000,
};

/** Statuses Graph documents as transient: throttled, unavailable, gateway timeout. */
const RETRY_STATUSES = new Set([429, 503, 504]);
/** Socket errors worth another attempt (the connection dropped; not refused or unresolvable). */
const RETRY_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ESOCKETTIMEDOUT']);

/** What went wrong in the middleware chain, kept intact through the Graph client. */
export interface TransportFailure {
  /** The error as thrown (an @azure/identity error, a socket error, a timeout). */
  original: unknown;
  /** `token` when getting the access token failed, `request` when the HTTP exchange did. */
  phase: 'token' | 'request';
  url: string;
  /**
   * Token phase, when the credential failed without an answer from the login host (MSAL hides
   * the socket error): the socket or TLS error code our own request to that host got.
   */
  probeCode?: string;
}

/**
 * The Graph client rethrows a `GraphClientError` raised inside the middleware unchanged (it
 * turns anything else into a `GraphError` and loses it): carry the failure on one.
 */
function transportError(f: TransportFailure): GraphClientError {
  const e = new GraphClientError(
    f.original instanceof Error ? f.original.message : String(f.original),
  );
  (e as GraphClientError & { dirsync: TransportFailure }).dirsync = f;
  return e;
}

export function transportFailureOf(err: unknown): TransportFailure | undefined {
  return err instanceof GraphClientError
    ? (err as GraphClientError & { dirsync?: TransportFailure }).dirsync
    : undefined;
}

/** Retry-After in milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterMs(
  value: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Exponential back-off with full jitter: a random delay in [0, min(max, base·2^(attempt-1))]. */
export function backoffMs(attempt: number, p: RetryPolicy, random = Math.random): number {
  const ceiling = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(random() * ceiling);
}

/** The access token of the app; `invalidate()` makes the next one come from a fresh credential. */
class CredentialTokens implements AuthenticationProvider {
  private credential: TokenCredential;

  constructor(
    private readonly make: () => TokenCredential,
    private readonly scope: string,
    private readonly url: string,
    private readonly agent: https.Agent,
  ) {
    this.credential = make();
  }

  async getAccessToken(): Promise<string> {
    try {
      const token = await this.credential.getToken(this.scope);
      if (!token) throw new Error('the credential returned no access token');
      return token.token;
    } catch (err) {
      const answered = (err as { statusCode?: unknown }).statusCode !== undefined;
      throw transportError({
        original: err,
        phase: 'token',
        url: this.url,
        probeCode: answered ? undefined : await probe(this.url, this.agent),
      });
    }
  }

  /** Graph refused the token: forget the cached one (a new credential has an empty cache). */
  invalidate(): void {
    this.credential = this.make();
  }
}

/**
 * First in the chain: re-runs the rest of it for HTTP 429/503/504 (honouring Retry-After, else
 * bounded exponential back-off with jitter) and dropped connections, and once with a fresh token
 * after a 401.
 */
class RetryMiddleware implements Middleware {
  private next: Middleware | undefined;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly tokens: CredentialTokens,
    private readonly signal: AbortSignal,
    private readonly logger: Logger,
    private readonly onRetry: (why: string) => void,
    private readonly report: SourceReporter | undefined,
  ) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    const next = this.next;
    if (!next) throw new Error('RetryMiddleware has no next middleware');
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      this.signal.throwIfAborted();
      let why: string;
      let waitMs: number | undefined;
      // The AuthenticationHandler appends its header: drop the previous attempt's first.
      dropAuthorization(context);
      try {
        await next.execute(context);
        const res = context.response;
        const status = res?.status ?? 0;
        if (status === 401 && !refreshed) {
          refreshed = true;
          this.tokens.invalidate();
          this.logger.debug(
            { url: urlOf(context) },
            'Graph refused the token (401); refreshing it once',
          );
          await res?.body?.cancel();
          attempt--;
          continue;
        }
        if (!RETRY_STATUSES.has(status) || attempt >= this.policy.maxAttempts) return;
        why = `HTTP ${status}`;
        this.report?.requestFailed(String(status));
        waitMs = retryAfterMs(res?.headers.get('retry-after'));
        if (waitMs !== undefined && waitMs > this.policy.maxRetryAfterMs) return;
        await res?.body?.cancel();
      } catch (err) {
        const failure = transportFailureOf(err);
        const code = (failure?.original as { code?: unknown } | undefined)?.code;
        if (
          failure?.phase !== 'request' ||
          typeof code !== 'string' ||
          !RETRY_SOCKET_CODES.has(code) ||
          attempt >= this.policy.maxAttempts
        ) {
          throw err;
        }
        why = code;
        this.report?.requestFailed(code);
      }
      const delay = waitMs ?? backoffMs(attempt, this.policy);
      if (why === 'HTTP 429' || why === 'HTTP 503') this.report?.throttled(delay);
      this.onRetry(why);
      this.logger.debug(
        { url: urlOf(context), why, attempt, delayMs: delay },
        'retrying a Graph request',
      );
      await sleep(delay, undefined, { signal: this.signal });
    }
  }
}

/** The socket/TLS error code of a plain request to `url`, or undefined when it answers. */
function probe(url: string, agent: https.Agent): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = https.get(url, { agent, timeout: 5_000 }, (res) => {
      res.resume();
      resolve(undefined);
    });
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })),
    );
    req.on('error', (e) => resolve((e as { code?: string }).code ?? 'EPROTO'));
  });
}

function dropAuthorization(context: Context): void {
  const headers = context.options?.headers as unknown;
  if (!headers) return;
  if (headers instanceof Headers) headers.delete('Authorization');
  else if (Array.isArray(headers)) {
    const kept = headers.filter(([k]: [string, string]) => k.toLowerCase() !== 'authorization');
    headers.splice(0, headers.length, ...kept);
  } else {
    for (const k of Object.keys(headers as Record<string, string>)) {
      if (k.toLowerCase() === 'authorization') delete (headers as Record<string, string>)[k];
    }
  }
}

function urlOf(context: Context): string {
  return typeof context.request === 'string' ? context.request : context.request.url;
}

function headerRecord(h: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  if (h instanceof Headers) {
    h.forEach((v, k) => (out[k] = v));
    return out;
  }
  if (Array.isArray(h)) {
    for (const [k, v] of h as [string, string][]) out[k] = v;
    return out;
  }
  for (const [k, v] of Object.entries(h as Record<string, string>)) out[k] = String(v);
  return out;
}

/**
 * Last in the chain: the HTTP exchange itself, over node:https with a keep-alive agent that
 * verifies certificates against the system store plus the directory's `tlsCaPem`.
 */
class HttpsMiddleware implements Middleware {
  constructor(
    private readonly agent: https.Agent,
    private readonly timeoutMs: number,
    private readonly signal: AbortSignal,
  ) {}

  async execute(context: Context): Promise<void> {
    const url = urlOf(context);
    const opts = context.options ?? {};
    const body = typeof opts.body === 'string' ? opts.body : undefined;
    try {
      context.response = await new Promise<Response>((resolve, reject) => {
        const req = https.request(
          url,
          {
            method: opts.method ?? 'GET',
            headers: headerRecord(opts.headers),
            agent: this.agent,
            timeout: this.timeoutMs,
            signal: this.signal,
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('error', reject);
            res.on('end', () => {
              const headers = new Headers();
              for (const [k, v] of Object.entries(res.headers)) {
                if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
              }
              const status = res.statusCode ?? 500;
              const payload = status === 204 || status === 304 ? null : Buffer.concat(chunks);
              resolve(new Response(payload, { status, statusText: res.statusMessage, headers }));
            });
          },
        );
        req.on('timeout', () => {
          req.destroy(
            Object.assign(new Error(`no answer within ${this.timeoutMs} ms`), {
              code: 'ETIMEDOUT',
            }),
          );
        });
        req.on('error', reject);
        req.end(body);
      });
    } catch (err) {
      throw transportError({ original: err, phase: 'request', url });
    }
  }
}

export interface GraphSessionOptions {
  settings: EntraSettings;
  /** `clientSecret` or `clientCertificate` (PEM private key and certificate), per `settings.credential`. */
  secret: string;
  signal: AbortSignal;
  logger: Logger;
  retry?: Partial<RetryPolicy>;
  /** Throttling and failed requests, for the kit's source metrics. */
  report?: SourceReporter;
}

/** One page of a Graph collection. */
export interface GraphPage<T> {
  value: T[];
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
}

/**
 * A Microsoft Graph client for one run: the app's client credentials through @azure/identity,
 * requests through the Graph JavaScript client with our middleware chain (retry → the library's
 * AuthenticationHandler → HTTPS).
 */
export class GraphSession {
  readonly client: Client;
  readonly graphUrl: string;
  readonly loginUrl: string;
  private readonly tokens: CredentialTokens;
  /** Retried responses and connections, for logs and tests. */
  retries = 0;
  private readonly agent: https.Agent;

  constructor(opts: GraphSessionOptions) {
    const { settings } = opts;
    const { loginUrl, graphUrl } = entraEndpoints(settings);
    this.loginUrl = loginUrl;
    this.graphUrl = graphUrl;
    // Adding a CA must not drop the system store: pass both.
    const ca = settings.tlsCaPem ? [...rootCertificates, settings.tlsCaPem] : undefined;
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 8, ca });
    const credentialOptions = {
      authorityHost: loginUrl,
      disableInstanceDiscovery: !KNOWN_LOGIN_HOSTS.has(new URL(loginUrl).hostname),
      tlsOptions: ca ? { ca } : undefined,
      retryOptions: { maxRetries: 2 },
    };
    const make = (): TokenCredential =>
      settings.credential === 'clientCertificate'
        ? new ClientCertificateCredential(
            settings.tenantId,
            settings.clientId,
            { certificate: opts.secret },
            credentialOptions,
          )
        : new ClientSecretCredential(
            settings.tenantId,
            settings.clientId,
            opts.secret,
            credentialOptions,
          );
    const tokens = new CredentialTokens(make, scopeOf(graphUrl), loginUrl, this.agent);
    this.tokens = tokens;
    const retry = new RetryMiddleware(
      { ...DEFAULT_RETRY, ...opts.retry },
      tokens,
      opts.signal,
      opts.logger,
      () => this.retries++,
      opts.report,
    );
    const auth = new AuthenticationHandler(tokens);
    const http = new HttpsMiddleware(this.agent, settings.timeoutMs, opts.signal);
    retry.setNext(auth);
    auth.setNext(http);
    const host = new URL(graphUrl).hostname;
    this.client = Client.initWithMiddleware({
      baseUrl: `${graphUrl}/`,
      defaultVersion: 'v1.0',
      middleware: retry,
      customHosts: KNOWN_GRAPH_HOSTS.has(host) ? undefined : new Set([host]),
    });
  }

  /**
   * Get an access token from the login endpoint, without calling Graph (the connection test's
   * TOKEN step). Throws what a Graph call would throw for it (see `translateGraphError`).
   */
  async accessToken(): Promise<void> {
    await this.tokens.getAccessToken();
  }

  /**
   * GET one resource (`/groups/{id}`) or a full URL (a next or delta link). Query values are
   * percent-encoded here: the Graph client joins them into the URL as given, so a `$filter`
   * literal with `+`, `&` or `#` (`ada+it@contoso.com`) would otherwise change the query.
   */
  async get<T>(
    pathOrUrl: string,
    query: Record<string, string> = {},
    headers: Record<string, string> = {},
  ): Promise<T> {
    let req = this.client.api(pathOrUrl);
    if (Object.keys(headers).length > 0) req = req.headers(headers);
    const entries = Object.entries(query);
    if (entries.length > 0) {
      req = req.query(Object.fromEntries(entries.map(([k, v]) => [k, encodeURIComponent(v)])));
    }
    return (await req.get()) as T;
  }

  /**
   * Every page of a collection, following `@odata.nextLink` to the end; `headers` go with every
   * page (an advanced query's `ConsistencyLevel` is needed on each).
   */
  async *pages<T>(
    path: string,
    query: Record<string, string>,
    headers: Record<string, string> = {},
  ): AsyncGenerator<GraphPage<T>> {
    let page = await this.get<GraphPage<T>>(path, query, headers);
    for (;;) {
      yield page;
      const next = page['@odata.nextLink'];
      if (!next) return;
      page = await this.get<GraphPage<T>>(next, {}, headers);
    }
  }

  close(): void {
    this.agent.destroy();
  }
}

export { GraphError };
