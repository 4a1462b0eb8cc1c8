/**
 * The ONE place where ldapts and socket errors become dirsync error codes (after ldapts'
 * StatusCodeParser: result codes map to named classes). Classification uses the LDAP result
 * code, the socket error code and the phase of the session the error happened in — never the
 * text of a message. Messages name the host, DN or setting at fault and never carry the bind
 * password (it is never part of any input to this module).
 */
import { ErrorCode } from '@dirsync/proto';
import { DirsyncError, TLS_VERIFY_CODES, UNREACHABLE_WHY } from '@dirsync/kit';
import { ResultCodeError } from 'ldapts';

/** What the session was doing when the error happened. */
export type LdapPhase = 'connect' | 'starttls' | 'bind' | 'read';

export interface LdapErrorContext {
  phase: LdapPhase;
  /** `host:port` of the server. */
  server: string;
  bindDn?: string;
  /** The search base of a read. */
  base?: string;
  /** What the read was for ("groups", "users", "the user jdoe"). */
  what?: string;
}

/** LDAP result codes (RFC 4511 §4.1.9) we classify. */
export const LdapResult = {
  operationsError: 1,
  protocolError: 2,
  timeLimitExceeded: 3,
  sizeLimitExceeded: 4,
  authMethodNotSupported: 7,
  strongerAuthRequired: 8,
  adminLimitExceeded: 11,
  unavailableCriticalExtension: 12,
  confidentialityRequired: 13,
  noSuchObject: 32,
  invalidDNSyntax: 34,
  inappropriateAuthentication: 48,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  busy: 51,
  unavailable: 52,
  unwillingToPerform: 53,
} as const;

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function detail(err: unknown): string {
  if (err instanceof ResultCodeError) return err.message;
  return err instanceof Error ? (err.message.split('\n')[0] ?? err.name) : String(err);
}

/** Translate anything an LDAP operation threw into a DirsyncError with a stable code. */
export function translateLdapError(err: unknown, ctx: LdapErrorContext): DirsyncError {
  if (err instanceof DirsyncError) return err;
  const e = (code: ErrorCode, message: string) => new DirsyncError(code, message, { cause: err });
  const where = ctx.base ? `"${ctx.base}"` : 'the search base';
  const reading = ctx.what ? `reading ${ctx.what}` : 'reading';

  if (err instanceof ResultCodeError) {
    switch (err.code) {
      case LdapResult.invalidCredentials:
      case LdapResult.inappropriateAuthentication:
        return e(
          ErrorCode.INVALID_CREDENTIALS,
          `${ctx.server} rejected the bind DN "${ctx.bindDn ?? ''}" or its password`,
        );
      case LdapResult.noSuchObject:
        if (ctx.phase === 'bind') {
          return e(
            ErrorCode.INVALID_CREDENTIALS,
            `${ctx.server} rejected the bind DN "${ctx.bindDn ?? ''}" or its password`,
          );
        }
        return e(ErrorCode.BASE_DN_NOT_FOUND, `${where} does not exist on ${ctx.server}`);
      case LdapResult.invalidDNSyntax:
        return e(ErrorCode.CONFIG_INVALID, `${ctx.server} says ${where} is not a valid DN`);
      case LdapResult.sizeLimitExceeded:
      case LdapResult.timeLimitExceeded:
      case LdapResult.adminLimitExceeded:
        return e(
          ErrorCode.SIZE_LIMIT_EXCEEDED,
          `${ctx.server} cut the result short while ${reading} under ${where} (${detail(err)}); ` +
            'raise the size/time limits for the bind DN: dirsync never accepts a truncated result',
        );
      case LdapResult.insufficientAccessRights:
        return e(
          ErrorCode.INSUFFICIENT_ACCESS,
          `the bind DN "${ctx.bindDn ?? ''}" may not ${ctx.phase === 'read' ? `read ${where}` : 'do this'} on ${ctx.server}`,
        );
      case LdapResult.strongerAuthRequired:
      case LdapResult.confidentialityRequired:
        return e(
          ErrorCode.CONFIG_INVALID,
          `${ctx.server} requires an encrypted connection: use an ldaps:// URL or startTls`,
        );
      case LdapResult.busy:
      case LdapResult.unavailable:
        if (ctx.phase === 'starttls') break;
        return e(
          ErrorCode.SOURCE_UNAVAILABLE,
          `${ctx.server} is busy or unavailable (${detail(err)})`,
        );
      case LdapResult.unwillingToPerform:
        if (ctx.phase === 'bind') {
          return e(
            ErrorCode.INVALID_CREDENTIALS,
            `${ctx.server} refused to bind as "${ctx.bindDn ?? ''}" (${detail(err)})`,
          );
        }
        break;
      case LdapResult.unavailableCriticalExtension:
        return e(
          ErrorCode.SOURCE_ERROR,
          `${ctx.server} does not support a control dirsync needs (paged results) while ${reading}`,
        );
      default:
        break;
    }
    if (ctx.phase === 'starttls') {
      return e(ErrorCode.TLS_ERROR, `${ctx.server} refused StartTLS (${detail(err)})`);
    }
    return e(
      ErrorCode.SOURCE_ERROR,
      `${ctx.server} answered ${err.name} while ${ctx.phase === 'read' ? reading : ctx.phase} (${detail(err)})`,
    );
  }

  const code = errnoCode(err);
  if (code && TLS_VERIFY_CODES.has(code)) {
    return e(
      ErrorCode.TLS_ERROR,
      `the certificate of ${ctx.server} could not be verified (${code}); ` +
        'set tlsCaPem to the CA that signed it',
    );
  }
  if (ctx.phase === 'read') {
    return e(
      ErrorCode.SOURCE_UNAVAILABLE,
      `the connection to ${ctx.server} failed while ${reading} (${detail(err)})`,
    );
  }
  const why =
    (code && UNREACHABLE_WHY[code]) ??
    (code?.startsWith('ERR_SSL') || code?.startsWith('ERR_TLS')
      ? `the TLS handshake failed (${code})`
      : detail(err));
  return e(ErrorCode.SOURCE_UNREACHABLE, `cannot connect to ${ctx.server}: ${why}`);
}
