import type { Connection } from './config.js';
import { CliError, ExitCode, exitCodeOf } from './exit-codes.js';

/** A GraphQL error as the gateway answers it. */
export interface ApiErrorBody {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string } & Record<string, unknown>;
}

/** Talks to the gateway. Every command goes through `request`: one API, no shortcuts. */
export interface Client {
  request<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
}

const TIMEOUT_MS = 120_000;

/**
 * What an UNAUTHENTICATED answer means for this command line: with no key, where to give one
 * (the demo's owner key is in `.data/owner.key`); with one, which setting it came from. The
 * gateway's own message stays on the first line; the key itself is never printed.
 */
export function unauthenticatedMessage(conn: Connection, gatewayMessage: string): string {
  if (conn.apiKey) {
    return [
      `the gateway refused the API key from ${conn.apiKeyFrom ?? 'the settings'}: ${gatewayMessage}`,
      '  give a current key (dirsync keys create prints one; after npm run demo the owner key is in .data/owner.key)',
    ].join('\n');
  }
  return [
    `no API key given, and the gateway needs one: ${gatewayMessage}`,
    '  set DIRSYNC_API_KEY=dsk_…, or DIRSYNC_API_KEY_FILE=<file holding the key>',
    '  (after npm run demo, from the repository: export DIRSYNC_API_KEY_FILE=.data/owner.key),',
    '  or pass --api-key-file <file> (or --api-key <key>), or put "apiKey" in ~/.config/dirsync/config.json',
  ].join('\n');
}

export function createClient(conn: Connection, fetchImpl: typeof fetch = fetch): Client {
  return {
    async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/json',
      };
      if (conn.apiKey) headers.authorization = `Bearer ${conn.apiKey}`;
      let res: Response;
      try {
        res = await fetchImpl(conn.url, {
          method: 'POST',
          headers,
          body: JSON.stringify({ query, variables }),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (err) {
        const c = (err as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
        const cause = c?.code ?? c?.errors?.[0]?.code ?? (err as Error).message;
        throw new CliError(
          `cannot reach the gateway at ${conn.url} (${cause})`,
          ExitCode.UNREACHABLE,
        );
      }
      // A 404 is a URL that is not the GraphQL endpoint (a typo, a proxy path): say which one.
      const notFound =
        res.status === 404
          ? new CliError(
              `the gateway at ${conn.url} answered HTTP 404: that is not its GraphQL endpoint; give the gateway's URL, e.g. http://127.0.0.1:4000 or http://127.0.0.1:4000/graphql (--url, DIRSYNC_URL)`,
              ExitCode.ERROR,
            )
          : undefined;
      let body: { data?: T | null; errors?: ApiErrorBody[] };
      try {
        body = (await res.json()) as typeof body;
      } catch {
        if (notFound) throw notFound;
        if (res.status === 401) {
          throw new CliError(
            unauthenticatedMessage(conn, `HTTP 401 from ${conn.url}`),
            ExitCode.AUTH,
            'UNAUTHENTICATED',
          );
        }
        throw new CliError(
          `the gateway at ${conn.url} answered HTTP ${res.status} without a GraphQL response`,
          res.status === 401 || res.status === 403 ? ExitCode.AUTH : ExitCode.ERROR,
        );
      }
      const first = body.errors?.[0];
      if (first) {
        const code =
          first.extensions?.code ??
          (res.status === 401 ? 'UNAUTHENTICATED' : res.status === 403 ? 'FORBIDDEN' : undefined);
        const message =
          code === 'UNAUTHENTICATED' ? unauthenticatedMessage(conn, first.message) : first.message;
        throw new CliError(message, exitCodeOf(code), code, first.extensions);
      }
      if (notFound && body.data == null) throw notFound;
      if (!res.ok || body.data == null) {
        throw new CliError(`the gateway answered HTTP ${res.status} without data`, ExitCode.ERROR);
      }
      return body.data;
    },
  };
}
