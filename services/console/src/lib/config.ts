/**
 * What the gateway tells the page, in `<meta name="dirsync-console" content="…">`
 * (`gateway/src/console.ts`, `ConsolePageConfig`). Served by Vite's dev server the content is
 * `{}`: API keys only.
 */
export interface OidcPageConfig {
  issuer: string;
  clientId: string;
  scope: string;
  /** Which token of the token response is sent to the gateway as the bearer credential. */
  token: 'access_token' | 'id_token';
  audience?: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  endSessionEndpoint?: string;
}

export interface PageConfig {
  oidc: OidcPageConfig | null;
  /** Why OIDC is configured but not offered (discovery failed). */
  oidcProblem?: string;
}

export function parsePageConfig(content: string | null | undefined): PageConfig {
  try {
    const raw = JSON.parse(content || '{}') as Partial<PageConfig>;
    return { oidc: raw.oidc ?? null, ...(raw.oidcProblem ? { oidcProblem: raw.oidcProblem } : {}) };
  } catch {
    return { oidc: null };
  }
}

export function readPageConfig(): PageConfig {
  const meta = document.querySelector('meta[name="dirsync-console"]');
  return parsePageConfig(meta?.getAttribute('content'));
}
