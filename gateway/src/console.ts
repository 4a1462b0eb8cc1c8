import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Logger } from '@dirsync/kit';

/**
 * The admin console (`services/console`, a built single-page app) served by the gateway at `/`.
 * The console is a thin client of `/graphql` on the same origin: these files carry no data and
 * are served without credentials; every GraphQL request the app makes is authenticated as usual.
 */
export interface ConsoleConfig {
  /** The console's build output (`services/console/dist`, holding `index.html`). */
  dir: string;
  /** Sign-in with the gateway's OIDC issuer (authorization code + PKCE); absent: API keys only. */
  oidc?: ConsoleOidcConfig | undefined;
}

export interface ConsoleOidcConfig {
  /** The gateway's `OIDC_ISSUER`. */
  issuer: string;
  /** A public client (no secret) registered at the issuer with redirect URI `<origin>/oidc/callback`. */
  clientId: string;
  scope: string;
  /**
   * Which token of the token response the console sends to the gateway: `access_token` (its
   * `aud` must be `OIDC_AUDIENCE`, an API registered at the issuer) or `id_token` (then
   * `OIDC_AUDIENCE` is the client id).
   */
  token: 'access_token' | 'id_token';
  /** Sent as `audience` / `resource` on the authorization request when set (Auth0, Entra v1). */
  audience?: string | undefined;
}

/** What the page learns from the gateway, in `<meta name="dirsync-console" content="…">`. */
export interface ConsolePageConfig {
  oidc: {
    issuer: string;
    clientId: string;
    scope: string;
    token: 'access_token' | 'id_token';
    audience?: string | undefined;
    authorizationEndpoint: string;
    tokenEndpoint: string;
    endSessionEndpoint?: string | undefined;
  } | null;
  /** Why OIDC sign-in is not offered although configured (discovery failed), for the sign-in page. */
  oidcProblem?: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.txt', '.map']);
/** Paths that belong to the API, never to the single-page app's fallback. */
const NOT_PAGES = ['/graphql', '/internal/', '/healthz', '/readyz', '/metrics'];

interface CachedFile {
  body: Buffer;
  gzip: Buffer | undefined;
  type: string;
  /** Vite's content-hashed output under assets/: cacheable forever. */
  immutable: boolean;
}

const escapeAttr = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const originOf = (url: string) => {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
};

/** The OIDC endpoints the page needs, from the issuer's discovery document. */
async function discover(oidc: ConsoleOidcConfig): Promise<NonNullable<ConsolePageConfig['oidc']>> {
  const url = `${oidc.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`HTTP ${res.status} from ${url}`);
  const doc = (await res.json()) as Record<string, unknown>;
  const authorizationEndpoint = doc.authorization_endpoint;
  const tokenEndpoint = doc.token_endpoint;
  if (typeof authorizationEndpoint !== 'string' || typeof tokenEndpoint !== 'string') {
    throw new Error(`${url} names no authorization_endpoint or token_endpoint`);
  }
  return {
    issuer: oidc.issuer,
    clientId: oidc.clientId,
    scope: oidc.scope,
    token: oidc.token,
    audience: oidc.audience,
    authorizationEndpoint,
    tokenEndpoint,
    endSessionEndpoint:
      typeof doc.end_session_endpoint === 'string' ? doc.end_session_endpoint : undefined,
  };
}

export interface ConsoleHandler {
  /** Answers a GET/HEAD for the console; false when the path is not the console's. */
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean>;
}

/**
 * Serve the console from `config.dir`: files as they are (gzip when the client accepts it,
 * `assets/` cached as immutable), and `index.html` — with the page configuration injected — for
 * every other page path, so the app's own routes (`/users/…`) survive a reload. Throws at
 * creation when the directory has no `index.html` (a configuration error, reported at start).
 */
export async function createConsoleHandler(
  config: ConsoleConfig,
  logger: Logger,
): Promise<ConsoleHandler> {
  const root = resolve(config.dir);
  const indexPath = join(root, 'index.html');
  let template: string;
  try {
    template = await readFile(indexPath, 'utf8');
  } catch {
    throw new Error(
      `GATEWAY_CONSOLE_DIR: ${root} has no index.html (build the console: npm run build -w @dirsync/console)`,
    );
  }
  const cache = new Map<string, CachedFile>();
  let page: { config: ConsolePageConfig; file: CachedFile; csp: string } | undefined;

  function cspFor(pageConfig: ConsolePageConfig): string {
    // The token endpoint is fetched by the page (code exchange); the authorization endpoint is a
    // navigation, which connect-src does not govern.
    const oidcOrigins = pageConfig.oidc
      ? [originOf(pageConfig.oidc.tokenEndpoint)].filter((o): o is string => !!o)
      : [];
    return [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      `connect-src 'self'${oidcOrigins.map((o) => ` ${o}`).join('')}`,
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'self'",
      "object-src 'none'",
    ].join('; ');
  }

  function fileOf(body: Buffer, ext: string, immutable: boolean): CachedFile {
    return {
      body,
      gzip: COMPRESSIBLE.has(ext) && body.length > 1024 ? gzipSync(body) : undefined,
      type: TYPES[ext] ?? 'application/octet-stream',
      immutable,
    };
  }

  /** index.html with the page configuration; OIDC discovery is retried until it succeeds. */
  async function indexPage() {
    if (page && (!config.oidc || page.config.oidc)) return page;
    let pageConfig: ConsolePageConfig = { oidc: null };
    if (config.oidc) {
      try {
        pageConfig = { oidc: await discover(config.oidc) };
      } catch (err) {
        logger.warn({ err, issuer: config.oidc.issuer }, 'console: OIDC discovery failed');
        pageConfig = { oidc: null, oidcProblem: `OIDC discovery failed at ${config.oidc.issuer}` };
      }
    }
    const html = template.replace(
      /<meta name="dirsync-console" content="[^"]*"\s*\/?>/,
      `<meta name="dirsync-console" content="${escapeAttr(JSON.stringify(pageConfig))}" />`,
    );
    page = {
      config: pageConfig,
      file: fileOf(Buffer.from(html), '.html', false),
      csp: cspFor(pageConfig),
    };
    return page;
  }

  async function staticFile(pathname: string): Promise<CachedFile | undefined> {
    const cached = cache.get(pathname);
    if (cached) return cached;
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return undefined;
    }
    if (decoded.includes('\0')) return undefined;
    const file = resolve(root, `.${decoded}`);
    // Nothing outside the console's directory, whatever the path says (`..`, encoded slashes).
    if (!file.startsWith(root + sep) || file === indexPath) return undefined;
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return undefined;
    const entry = fileOf(await readFile(file), extname(file), decoded.startsWith('/assets/'));
    cache.set(pathname, entry);
    return entry;
  }

  function send(
    req: IncomingMessage,
    res: ServerResponse,
    file: CachedFile,
    headers: Record<string, string>,
  ) {
    const gzip = file.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? file.gzip! : file.body;
    res.statusCode = 200;
    res.setHeader('content-type', file.type);
    res.setHeader('content-length', String(body.length));
    res.setHeader(
      'cache-control',
      file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    );
    if (file.gzip) res.setHeader('vary', 'accept-encoding');
    if (gzip) res.setHeader('content-encoding', 'gzip');
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  return {
    async handle(req, res, pathname) {
      if (
        NOT_PAGES.some((p) => pathname === p || pathname.startsWith(p.endsWith('/') ? p : `${p}/`))
      ) {
        return false;
      }
      const file = pathname === '/' ? undefined : await staticFile(pathname);
      if (file) {
        send(req, res, file, {});
        return true;
      }
      // A missing asset is a 404, not the app: a stale tab asking for an old bundle must fail
      // visibly instead of parsing HTML as JavaScript.
      if (pathname.startsWith('/assets/') || /\.[a-z0-9]+$/i.test(pathname)) return false;
      const index = await indexPage();
      send(req, res, index.file, {
        'content-security-policy': index.csp,
        'x-frame-options': 'DENY',
      });
      return true;
    },
  };
}
