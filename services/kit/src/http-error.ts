/**
 * An HTTP-level refusal (before GraphQL runs): authentication, rate limits. `createHttpServer`
 * answers it as a GraphQL-shaped error body with `extensions.code` and the given status.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}
