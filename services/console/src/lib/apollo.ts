import { ApolloClient, HttpLink, InMemoryCache } from '@apollo/client';

/**
 * The console's Apollo Client: same-origin `/graphql`, the credential as a bearer token on every
 * request, and `onUnauthenticated` when the gateway answers 401 (key revoked or expired, token
 * expired) so the app returns to the sign-in page instead of showing errors everywhere.
 */
export function createApolloClient(opts: {
  uri?: string;
  token: () => string | undefined;
  onUnauthenticated: (message: string) => void;
}): ApolloClient {
  const authFetch: typeof fetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    const token = opts.token();
    if (token) headers.set('authorization', `Bearer ${token}`);
    const res = await fetch(input, { ...init, headers });
    if (res.status === 401) {
      const body = (await res
        .clone()
        .json()
        .catch(() => ({}))) as { errors?: { message?: string }[] };
      opts.onUnauthenticated(body.errors?.[0]?.message ?? 'signed out');
    }
    return res;
  };
  return new ApolloClient({
    link: new HttpLink({ uri: opts.uri ?? '/graphql', fetch: authFetch }),
    cache: new InMemoryCache({
      // Lists are paged by explicit cursors in the pages; no merging of pages in the cache.
      typePolicies: {
        RunCounts: { merge: true },
        AttributeMapping: { merge: true },
      },
    }),
    defaultOptions: {
      watchQuery: { fetchPolicy: 'cache-and-network' },
    },
  });
}
