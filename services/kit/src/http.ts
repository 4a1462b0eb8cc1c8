import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import type { Metrics } from './metrics.js';
import { HttpError } from './http-error.js';
import type { Logger } from './logger.js';

export { HttpError } from './http-error.js';

/** What the health endpoints report. `/healthz`: the process is alive. `/readyz`: it can serve. */
export interface HealthChecks {
  /** Returns problems; an empty list means ready. */
  ready: () => Promise<string[]>;
}

/** A JSON POST endpoint beside `/graphql` (internal APIs); the body is parsed JSON. */
export type RouteHandler<TAuth> = (
  body: unknown,
  auth: TAuth,
  req: http.IncomingMessage,
) => Promise<{ status?: number; body: unknown }>;

export interface HttpServerOptions<TContext extends BaseContext, TAuth = undefined> {
  apollo?: ApolloServer<TContext>;
  /**
   * Runs before anything else for `/graphql` and every route (not for the health endpoints).
   * Throw an `HttpError` to refuse the request (401, 429…); what it returns reaches `context`.
   */
  authenticate?: (req: http.IncomingMessage) => Promise<TAuth>;
  /** Builds the GraphQL context of one request. */
  context?: (req: http.IncomingMessage, auth: TAuth) => Promise<TContext>;
  /** Extra JSON POST endpoints by path. */
  routes?: Record<string, RouteHandler<TAuth>>;
  health: HealthChecks;
  /** Largest accepted request body; bigger ones get 413. */
  maxBodyBytes?: number;
  /** Path of the GraphQL endpoint. */
  graphqlPath?: string;
  /** Served at `GET /metrics` in the Prometheus text format. */
  metrics?: Metrics;
  /**
   * Longest time to receive a whole request (headers and body), in ms; slower clients get 408.
   * Default 30 s.
   */
  requestTimeoutMs?: number;
  /** Where unexpected errors of routes and hooks are logged (they answer 500 INTERNAL). */
  logger?: Logger;
  /**
   * GET/HEAD requests for any other path (not GraphQL, a route, health or metrics) are offered to
   * this handler before the 404, without `authenticate`: static content that carries no data (the
   * gateway's admin console). It answers and returns true, or returns false to let the 404 happen.
   */
  staticFiles?: (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    pathname: string,
  ) => Promise<boolean>;
}

/**
 * A node:http server that serves `/graphql` through Apollo's HTTP integration API, `/healthz`,
 * `/readyz` and (given `metrics`) `/metrics`. It is created separately from `listen()` so tests can run it in process on
 * port 0.
 */
export interface HttpServer {
  readonly server: http.Server;
  listen(port: number, host: string): Promise<string>;
  close(): Promise<void>;
}

class BodyTooLarge extends Error {}

function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size > limit) return; // already refused: discard the rest
      size += chunk.length;
      if (size > limit) {
        // Not req.destroy(): cutting the socket mid-upload makes clients (fetch) report a
        // network error instead of the 413; the rest of the body is read and dropped.
        chunks.length = 0;
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

function sendHttpError(res: http.ServerResponse, err: HttpError): void {
  for (const [key, value] of Object.entries(err.headers)) res.setHeader(key, value);
  sendJson(res, err.status, {
    errors: [{ message: err.message, extensions: { ...err.extensions, code: err.code } }],
  });
}

export function createHttpServer<TContext extends BaseContext, TAuth = undefined>(
  opts: HttpServerOptions<TContext, TAuth>,
): HttpServer {
  const graphqlPath = opts.graphqlPath ?? '/graphql';
  const limit = opts.maxBodyBytes ?? 1024 * 1024;

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (res.headersSent) return;
      if (err instanceof HttpError) {
        sendHttpError(res, err);
        return;
      }
      opts.logger?.error({ err, path: req.url }, 'request failed');
      sendJson(res, 500, {
        errors: [{ message: 'internal error', extensions: { code: 'INTERNAL' } }],
      });
    });
  });
  // Slow-loris defence: a request must arrive whole within the timeout (Node answers 408).
  server.requestTimeout = opts.requestTimeoutMs ?? 30_000;
  server.headersTimeout = Math.min(server.requestTimeout, 10_000);

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/healthz') {
      sendJson(res, 200, { status: 'ok' });
      return;
    }
    if (url.pathname === '/readyz') {
      const problems = await opts.health.ready().catch((e: unknown) => [String(e)]);
      sendJson(res, problems.length === 0 ? 200 : 503, {
        status: problems.length ? 'not ready' : 'ready',
        problems,
      });
      return;
    }
    if (url.pathname === '/metrics' && opts.metrics) {
      const text = await opts.metrics.text();
      res.statusCode = 200;
      res.setHeader('content-type', opts.metrics.contentType);
      res.end(text);
      return;
    }
    const route = opts.routes?.[url.pathname];
    if (!route && (url.pathname !== graphqlPath || !opts.apollo)) {
      if (
        opts.staticFiles &&
        (req.method === 'GET' || req.method === 'HEAD') &&
        (await opts.staticFiles(req, res, url.pathname))
      ) {
        return;
      }
      sendJson(res, 404, { error: 'not found' });
      return;
    }
    let body: unknown = undefined;
    if (req.method === 'POST') {
      let text: string;
      try {
        text = await readBody(req, limit);
      } catch (err) {
        if (err instanceof BodyTooLarge) {
          sendJson(res, 413, {
            errors: [
              {
                message: `request body exceeds ${limit} bytes`,
                extensions: { code: 'PAYLOAD_TOO_LARGE' },
              },
            ],
          });
          return;
        }
        throw err;
      }
      const type = req.headers['content-type'] ?? '';
      if (type.includes('application/json')) {
        try {
          body = text.length ? JSON.parse(text) : undefined;
        } catch {
          sendJson(res, 400, {
            errors: [
              { message: 'request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } },
            ],
          });
          return;
        }
      } else {
        body = text;
      }
    }
    // After the (bounded) body is read: answering before it would reset an uploading client.
    const auth = (opts.authenticate ? await opts.authenticate(req) : undefined) as TAuth;
    if (route) {
      if (req.method !== 'POST') {
        sendJson(res, 405, { error: 'POST only' });
        return;
      }
      const answer = await route(body, auth, req);
      sendJson(res, answer.status ?? 200, answer.body);
      return;
    }
    const apollo = opts.apollo!;
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: {
        method: (req.method ?? 'GET').toUpperCase(),
        headers,
        search: url.search,
        body,
      },
      context: () => (opts.context ? opts.context(req, auth) : Promise.resolve({} as TContext)),
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  }

  return {
    server,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const addr = server.address() as AddressInfo;
          resolve(`http://${host.includes(':') ? `[${host}]` : host}:${addr.port}${graphqlPath}`);
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}
