import { z } from 'zod';

/**
 * Server URLs in directory settings (`ldap.url`, `entra.loginUrl`, `entra.graphUrl`) name a server
 * and nothing else: `scheme://host[:port]`. Credentials have their own secret settings, so a URL
 * with a user name or password (`ldap://u:pw@host`) is refused instead of being stored in plain
 * settings and returned to every reader; a path, query or fragment would be ignored or misread.
 */

/**
 * Why `value` is not a `scheme://host[:port]` URL of one of `schemes` (a trailing "/" is
 * allowed), or undefined. The message never repeats the value: it may hold a password.
 */
export function serverUrlProblem(value: string, schemes: readonly string[]): string | undefined {
  const expected = schemes.map((s) => `${s}://host[:port]`).join(' or ');
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return `is not a URL (expected ${expected})`;
  }
  if (!schemes.includes(url.protocol.slice(0, -1).toLowerCase())) {
    return `must start with ${schemes.map((s) => `${s}://`).join(' or ')}`;
  }
  if (url.username !== '' || url.password !== '' || value.includes('@')) {
    return 'must not contain a user name or password (user info); credentials are separate secret settings';
  }
  if (url.hostname === '') return `must name a host (expected ${expected})`;
  if (url.pathname !== '' && url.pathname !== '/')
    return `must not have a path (expected ${expected})`;
  if (url.search !== '' || value.includes('?'))
    return `must not have a query (expected ${expected})`;
  if (url.hash !== '' || value.includes('#'))
    return `must not have a fragment (expected ${expected})`;
  return undefined;
}

/** A zod string that must be a server URL of one of `schemes` (see {@link serverUrlProblem}). */
export function serverUrl(schemes: readonly string[]) {
  return z.string().superRefine((u, ctx) => {
    const problem = serverUrlProblem(u, schemes);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}
