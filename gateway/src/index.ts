import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import {
  ApolloGateway,
  IntrospectAndCompose,
  RemoteGraphQLDataSource,
  type GraphQLDataSourceProcessOptions,
} from '@apollo/gateway';
import { GraphQLError } from 'graphql';
import {
  createHttpServer,
  createLogger,
  graphqlMetricsPlugin,
  Metrics,
  HttpError,
  type HttpServer,
  type Logger,
  type Service,
} from '@dirsync/kit';
import {
  createGatewayTokenSigner,
  SYSTEM_PRINCIPAL,
  type GatewayTokenSigner,
  type Principal,
} from '@dirsync/kit/auth';
import type { GatewayConfig } from './env.js';
import { SUBGRAPHS, SUPERGRAPH_FILE } from './compose.js';
import { clientAddress, createAuthenticator } from './auth/authenticator.js';
import { createOidcVerifier } from './auth/oidc.js';
import { createAuditClient } from './audit.js';
import { requestPlugin } from './request-plugin.js';
import { createConsoleHandler } from './console.js';

export type { GatewayConfig } from './env.js';
export { parseGatewayEnv, loadGatewayEnv, gatewayEnvSchema } from './env.js';
export {
  SUBGRAPHS,
  SUPERGRAPH_FILE,
  composeFromFiles,
  composeSupergraph,
  type SubgraphName,
} from './compose.js';
export type { OidcConfig } from './auth/oidc.js';
export type { ConsoleConfig, ConsoleOidcConfig, ConsolePageConfig } from './console.js';

export interface GatewayDeps {
  logger?: Logger;
  /** Serve this supergraph instead of the committed `supergraph.graphql`. */
  supergraphSdl?: string;
  /** Served at `/metrics`; one per service instance (default: a new one). */
  metrics?: Metrics;
}

/** The running gateway. */
export interface GatewayService extends Service {
  /** GraphQL URL once started. */
  readonly url: string;
}

/** The GraphQL context of one gateway request. */
export interface GatewayContext {
  /** Absent only for the development sandbox page, which runs no operation. */
  principal?: Principal;
  clientAddress: string;
  /** Sent to the subgraphs as `x-request-id` and recorded in the audit log. */
  requestId: string;
}

const READY_TIMEOUT_MS = 2_000;

/** Problems of one subgraph: it must answer `{ __typename }` within the timeout. */
async function probeSubgraph(
  name: string,
  url: string,
  signer: GatewayTokenSigner,
): Promise<string[]> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await signer.sign(SYSTEM_PRINCIPAL)}`,
      },
      body: JSON.stringify({ query: '{ __typename }' }),
      signal: AbortSignal.timeout(READY_TIMEOUT_MS),
    });
    if (!res.ok) return [`${name}: HTTP ${res.status} from ${url}`];
    const body = (await res.json()) as { data?: { __typename?: string } };
    return body.data?.__typename ? [] : [`${name}: unexpected answer from ${url}`];
  } catch (err) {
    return [`${name}: no answer from ${url} (${(err as Error).name})`];
  }
}

/** Sends each subgraph request with a fresh token naming the request's principal. */
class SignedDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    url: string,
    private readonly signer: GatewayTokenSigner,
    timeoutMs: number,
  ) {
    super({
      url,
      fetcher: async (input, init) => {
        try {
          return await fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) } as never);
        } catch (err) {
          if ((err as Error).name === 'TimeoutError') {
            throw new GraphQLError(`no answer within ${timeoutMs} ms`, {
              extensions: { code: 'TIMEOUT' },
            });
          }
          throw err;
        }
      },
    });
  }

  override async willSendRequest({
    request,
    context,
  }: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<void> {
    const { principal, requestId } = (context ?? {}) as Partial<GatewayContext>;
    if (requestId) request.http?.headers.set('x-request-id', requestId);
    request.http?.headers.set(
      'authorization',
      `Bearer ${await this.signer.sign(principal ?? SYSTEM_PRINCIPAL)}`,
    );
  }
}

/**
 * The Apollo Gateway in front of the identity, sync and auth subgraphs. It authenticates every
 * request (API keys through the auth service, OIDC tokens against the issuer's JWKS), applies the
 * limits, and hands each subgraph the verified principal in a token only it can sign. It serves
 * the supergraph composed at build time (`supergraph.graphql`); `devIntrospect` composes from the
 * running subgraphs instead.
 */
export function createGatewayService(
  config: GatewayConfig,
  deps: GatewayDeps = {},
): GatewayService {
  const logger = deps.logger ?? createLogger('gateway', config.logLevel);
  const metrics = deps.metrics ?? new Metrics({ service: 'gateway' });
  const urls: Record<string, string> = config.subgraphUrls;
  const signer = createGatewayTokenSigner(config.privateKey);
  const authenticator = createAuthenticator({
    authUrl: config.subgraphUrls.auth,
    signer,
    oidc: config.oidc ? createOidcVerifier(config.oidc) : undefined,
    keyCacheSeconds: config.keyCacheSeconds,
    rateLimitPerMinute: config.rateLimitPerMinute,
    authFailuresPerMinute: config.authFailuresPerMinute,
    logger,
  });
  const development = config.mode === 'development';
  let apollo: ApolloServer<GatewayContext> | undefined;
  let http: HttpServer | undefined;
  let url = '';

  const buildService = ({ name, url: composedUrl }: { name: string; url?: string }) =>
    new SignedDataSource(urls[name] ?? composedUrl ?? '', signer, config.requestTimeoutMs);

  /** The sandbox page (development only) is the one thing served without credentials. */
  const isSandboxPage = (req: IncomingMessage) =>
    development && req.method === 'GET' && (req.headers.accept ?? '').includes('text/html');

  return {
    name: 'gateway',
    get url() {
      return url;
    },

    async start() {
      const gateway = config.devIntrospect
        ? new ApolloGateway({
            supergraphSdl: new IntrospectAndCompose({
              subgraphs: SUBGRAPHS.map((s) => ({ name: s.name, url: urls[s.name] ?? s.url })),
            }),
            buildService,
            logger,
          })
        : new ApolloGateway({
            supergraphSdl: deps.supergraphSdl ?? (await readFile(SUPERGRAPH_FILE, 'utf8')),
            buildService,
            logger,
          });
      if (config.devIntrospect) logger.warn('composing from running subgraphs (development only)');
      if (development) logger.warn('development mode: introspection and the sandbox page are on');
      apollo = new ApolloServer<GatewayContext>({
        gateway,
        introspection: development,
        includeStacktraceInErrorResponses: false,
        // stopOnSignals owns SIGTERM/SIGINT; Apollo's own handler would re-raise the signal.
        stopOnTerminationSignals: false,
        plugins: [
          requestPlugin({
            audit: createAuditClient({ authUrl: config.subgraphUrls.auth, signer, logger }),
            limits: config.limits,
            onKeyRevoked: () => authenticator.forgetKeys(),
          }),
          graphqlMetricsPlugin(metrics),
          ...(development ? [] : [ApolloServerPluginLandingPageDisabled()]),
        ],
      });
      await apollo.start();
      const consoleHandler = config.console
        ? await createConsoleHandler(config.console, logger)
        : undefined;
      http = createHttpServer<GatewayContext, Principal | undefined>({
        apollo,
        maxBodyBytes: config.maxBodyBytes,
        metrics,
        logger,
        ...(consoleHandler
          ? { staticFiles: (req, res, pathname) => consoleHandler.handle(req, res, pathname) }
          : {}),
        authenticate: async (req) => {
          if (isSandboxPage(req)) return undefined;
          return authenticator.authenticate(req);
        },
        context: async (req, principal) => ({
          ...(principal ? { principal } : {}),
          clientAddress: clientAddress(req),
          requestId: randomUUID(),
        }),
        health: {
          ready: async () =>
            (
              await Promise.all(
                SUBGRAPHS.map((s) => probeSubgraph(s.name, urls[s.name] ?? s.url, signer)),
              )
            ).flat(),
        },
      });
      url = await http.listen(config.port, config.host);
      logger.info(
        { url, subgraphs: urls, mode: config.mode, console: config.console?.dir },
        'gateway started',
      );
    },

    async stop() {
      await http?.close();
      await apollo?.stop();
      http = undefined;
      apollo = undefined;
      logger.info('gateway stopped');
    },
  };
}

export { HttpError };
