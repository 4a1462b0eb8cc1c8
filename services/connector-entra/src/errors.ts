/**
 * The ONE place where Microsoft Graph, Microsoft identity platform (@azure/identity) and socket
 * errors become dirsync error codes. Classification uses HTTP statuses, Graph error codes,
 * AADSTS numbers and socket error codes — never the wording of a message. Messages name the
 * tenant, app, group or Graph permission at fault and never carry the client secret or key.
 */
import { ErrorCode } from '@dirsync/proto';
import { DirsyncError, TLS_VERIFY_CODES, UNREACHABLE_WHY } from '@dirsync/kit';
import { GraphError } from '@microsoft/microsoft-graph-client';
import { transportFailureOf } from './graph.js';

/** What the connector was doing, for the message and the permission a 403 is about. */
export interface GraphErrorContext {
  tenantId: string;
  clientId: string;
  /** e.g. "reading the members of group 0b1c…". */
  what: string;
  /** The application permission(s) the request needs, e.g. "GroupMember.Read.All". */
  permission: string;
  /** True once any Graph request of the run succeeded (a later network error is mid-run). */
  midRun?: boolean;
}

/** The delta link is no longer usable: the run starts over with a full read. */
export class DeltaResyncRequired extends Error {
  constructor(readonly reason: string) {
    super(`the delta link must be replaced by a full sync (${reason})`);
    this.name = 'DeltaResyncRequired';
  }
}

/** Graph error codes that mean "this delta token is no good any more; sync everything again". */
const RESYNC_CODES = new Set(['syncStateNotFound', 'resyncRequired', 'syncStateInvalid']);

/** AADSTS errors that mean the app's credentials (or its tenant) are wrong. */
const CREDENTIAL_AADSTS: Record<number, string> = {
  7000215: 'the client secret is not valid',
  7000222: 'the client secret has expired',
  700016: 'the application (client) id is not registered in the tenant',
  700027: 'the certificate is not one registered on the app',
  700024: 'the client assertion is outside its validity period',
  7000218: 'the app sent no credential',
  90002: 'the tenant does not exist',
  900023: 'the tenant id is not valid',
  90033: 'the tenant is not available',
  7000112: 'the application is disabled',
  50034: 'the account does not exist in the tenant',
};

/** The first `code` string found on an error or its causes (socket and TLS codes live there). */
function socketCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; e && depth < 6; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The AADSTS number of an @azure/identity / MSAL error, if it carries one. */
function aadsts(err: unknown): number | undefined {
  const resp = (err as { errorResponse?: { errorCodes?: number[]; errorDescription?: string } })
    .errorResponse;
  const fromList = resp?.errorCodes?.[0];
  if (typeof fromList === 'number') return fromList;
  // AADSTS numbers are Microsoft's stable error codes; the description is where the library puts them.
  const text = resp?.errorDescription ?? (err instanceof Error ? err.message : '');
  const m = /AADSTS(\d{5,8})/.exec(text);
  return m ? Number(m[1]) : undefined;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** Graph's error code of a failed response (`Authorization_RequestDenied`, …). */
export function graphCode(err: unknown): string | undefined {
  return err instanceof GraphError ? (err.code ?? undefined) : undefined;
}

export function graphStatus(err: unknown): number | undefined {
  return err instanceof GraphError ? err.statusCode : undefined;
}

/** Whether a failed delta request means the delta link must be given up for a full sync. */
export function isResyncRequired(err: unknown): boolean {
  if (!(err instanceof GraphError)) return false;
  return err.statusCode === 410 || RESYNC_CODES.has(err.code ?? '');
}

/** Translate anything a Graph call threw into a DirsyncError with a stable code. */
export function translateGraphError(err: unknown, ctx: GraphErrorContext): DirsyncError {
  if (err instanceof DirsyncError) return err;
  const e = (code: ErrorCode, message: string) => new DirsyncError(code, message, { cause: err });
  const app = `app ${ctx.clientId} of tenant ${ctx.tenantId}`;

  const failure = transportFailureOf(err);
  if (failure) {
    const original = failure.original;
    const host = hostOf(failure.url);
    const code = socketCode(original) ?? failure.probeCode;
    if (code && TLS_VERIFY_CODES.has(code)) {
      return e(
        ErrorCode.TLS_ERROR,
        `the certificate of ${host} could not be verified (${code}); set tlsCaPem to the CA that signed it`,
      );
    }
    if ((original as { name?: string } | null)?.name === 'AbortError') {
      return e(ErrorCode.INTERNAL, `the run was stopped while ${ctx.what}`);
    }
    if (failure.phase === 'token') {
      const n = aadsts(original);
      if (n !== undefined && CREDENTIAL_AADSTS[n]) {
        return e(
          ErrorCode.INVALID_CREDENTIALS,
          `${host} refused to issue a token to ${app}: ${CREDENTIAL_AADSTS[n]} (AADSTS${n})`,
        );
      }
      const status = (original as { statusCode?: number }).statusCode;
      if (code && UNREACHABLE_WHY[code]) {
        return e(
          ErrorCode.SOURCE_UNREACHABLE,
          `cannot connect to ${host}: ${UNREACHABLE_WHY[code]}`,
        );
      }
      if (status === 400 || status === 401) {
        return e(
          ErrorCode.INVALID_CREDENTIALS,
          `${host} refused to issue a token to ${app}${n !== undefined ? ` (AADSTS${n})` : ''}`,
        );
      }
      return e(
        ErrorCode.SOURCE_UNREACHABLE,
        `cannot get a token for ${app} from ${host}${n !== undefined ? ` (AADSTS${n})` : status ? ` (HTTP ${status})` : code ? ` (${code})` : ''}`,
      );
    }
    if (code && UNREACHABLE_WHY[code]) {
      return ctx.midRun
        ? e(
            ErrorCode.SOURCE_UNAVAILABLE,
            `the connection to ${host} failed while ${ctx.what} (${code})`,
          )
        : e(ErrorCode.SOURCE_UNREACHABLE, `cannot connect to ${host}: ${UNREACHABLE_WHY[code]}`);
    }
    return e(
      ctx.midRun ? ErrorCode.SOURCE_UNAVAILABLE : ErrorCode.SOURCE_UNREACHABLE,
      `the request to ${host} failed while ${ctx.what}${code ? ` (${code})` : ''}`,
    );
  }

  if (err instanceof GraphError) {
    const status = err.statusCode;
    const code = err.code ?? '';
    if (status === 401) {
      return e(
        ErrorCode.INVALID_CREDENTIALS,
        `Microsoft Graph refused the token of ${app} while ${ctx.what}, also after getting a new one (${code || 'HTTP 401'})`,
      );
    }
    if (status === 403) {
      return e(
        ErrorCode.INSUFFICIENT_ACCESS,
        `${app} may not do this: ${ctx.what} needs the application permission ${ctx.permission} with admin consent (Graph answered ${code || 'HTTP 403'})`,
      );
    }
    if (status === 429 || status === 503 || status === 504) {
      return e(
        ErrorCode.SOURCE_UNAVAILABLE,
        `Microsoft Graph kept answering HTTP ${status} (${code || 'throttled'}) while ${ctx.what}; gave up after the retries`,
      );
    }
    if (status >= 500) {
      return e(
        ErrorCode.SOURCE_UNAVAILABLE,
        `Microsoft Graph failed (HTTP ${status} ${code}) while ${ctx.what}`,
      );
    }
    if (status === 400) {
      // Graph's message names the property or clause it refused; it holds no secret.
      return e(
        ErrorCode.CONFIG_INVALID,
        `Microsoft Graph refused the request while ${ctx.what} (${code}: ${err.message}); check the attribute mapping`,
      );
    }
    return e(
      ErrorCode.SOURCE_ERROR,
      `Microsoft Graph answered HTTP ${status} ${code} while ${ctx.what}`,
    );
  }
  return e(ErrorCode.SOURCE_ERROR, `unexpected failure while ${ctx.what}`);
}
