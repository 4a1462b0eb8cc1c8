import { readFile } from 'node:fs/promises';
import { ApolloServer } from '@apollo/server';
import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from '@apollo/gateway';
import {
  createHttpServer,
  createLogger,
  graphqlMetricsPlugin,
  Metrics,
  type HttpServer,
  type Logger,
  type Service,
} from '@dirsync/kit';
import type { GatewayConfig } from './env.js';
import { SUBGRAPHS, SUPERGRAPH_FILE } from './compose.js';

export type { GatewayConfig } from './env.js';
export { parseGatewayEnv, loadGatewayEnv, gatewayEnvSchema } from './env.js';
export {
  SUBGRAPHS,
  SUPERGRAPH_FILE,
  composeFromFiles,
  composeSupergraph,
  type SubgraphName,
} from './compose.js';

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

const READY_TIMEOUT_MS = 2_000;

/** Problems of one subgraph: it must answer `{ __typename }` within the timeout. */
async function probeSubgraph(name: string, url: string): Promise<string[]> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
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

/**
 * The Apollo Gateway in front of the identity and sync subgraphs. It serves the supergraph
 * composed at build time (`supergraph.graphql`) and sends each subgraph's share of a query to
 * the URL from its configuration; `devIntrospect` composes from the running subgraphs instead.
 */
export function createGatewayService(
  config: GatewayConfig,
  deps: GatewayDeps = {},
): GatewayService {
  const logger = deps.logger ?? createLogger('gateway', config.logLevel);
  const metrics = deps.metrics ?? new Metrics({ service: 'gateway' });
  const urls: Record<string, string> = config.subgraphUrls;
  let apollo: ApolloServer | undefined;
  let http: HttpServer | undefined;
  let url = '';

  const buildService = ({ name, url: composedUrl }: { name: string; url?: string }) =>
    new RemoteGraphQLDataSource({ url: urls[name] ?? composedUrl });

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
      apollo = new ApolloServer({
        gateway,
        introspection: true,
        includeStacktraceInErrorResponses: false,
        // stopOnSignals owns SIGTERM/SIGINT; Apollo's own handler would re-raise the signal.
        stopOnTerminationSignals: false,
        plugins: [graphqlMetricsPlugin(metrics)],
      });
      await apollo.start();
      http = createHttpServer({
        apollo,
        maxBodyBytes: config.maxBodyBytes,
        metrics,
        health: {
          ready: async () =>
            (
              await Promise.all(SUBGRAPHS.map((s) => probeSubgraph(s.name, urls[s.name] ?? s.url)))
            ).flat(),
        },
      });
      url = await http.listen(config.port, config.host);
      logger.info({ url, subgraphs: urls }, 'gateway started');
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
