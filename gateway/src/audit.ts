import {
  GraphQLError,
  getArgumentValues,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { SYSTEM_PRINCIPAL, type GatewayTokenSigner, type Principal } from '@dirsync/kit/auth';
import type { Logger } from '@dirsync/kit';

/** Paths of the auth service's audit endpoints (mirrors @dirsync/auth INTERNAL_ROUTES). */
const BEGIN_PATH = '/internal/v1/audit/begin';
const FINISH_PATH = '/internal/v1/audit/finish';

/** Argument names whose values never reach the audit log (compared lower-case, `_`/`-` removed). */
const SECRET_NAMES = /(password|secret|token|credential|certificate|privatekey|apikey|^key$|pem$)/;

export const REDACTED = '[redacted]';

/** A URL scheme and whatever slashes follow it (`ldap://`, `LDAPS:/`, `ldap:\\`). */
const SCHEME = /^[a-z][a-z0-9+.-]*:[/\\]*/i;

/**
 * A string with whatever could be a URL's user info hidden: everything from after the scheme (or
 * the start) to the last "@", when a ":" comes before that "@" — `ldap://cn=admin:p@ss@host` →
 * `ldap://[redacted]@host`, also with spaces, slashes, "#" or "?" in the password, a mangled
 * scheme or none (`cn=admin:pw@host`). Directories refuse such URLs, but the arguments are
 * written before that answer, so a password typed into a URL field must not outlive the refusal.
 * It hides more than user info at times (`https://h/x@y`): in an audit log, a secret weighs more.
 */
function hideUserInfo(value: string): string {
  const at = value.lastIndexOf('@');
  if (at <= 0) return value;
  const colon = value.indexOf(':');
  if (colon < 0 || colon > at) return value;
  const scheme = SCHEME.exec(value)?.[0] ?? '';
  return scheme.length < at ? `${scheme}${REDACTED}${value.slice(at)}` : value;
}

/**
 * A deep copy of `value` with every secret-named property replaced by "[redacted]", and the
 * user info of URLs in any string value too.
 */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 20) return REDACTED;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const name = k.toLowerCase().replace(/[_-]/g, '');
      out[k] = SECRET_NAMES.test(name) && v != null ? REDACTED : redact(v, depth + 1);
    }
    return out;
  }
  if (typeof value === 'string') {
    const clean = hideUserInfo(value);
    return clean.length > 2_000 ? `${clean.slice(0, 2_000)}…` : clean;
  }
  return value;
}

/** The root fields of a mutation and their arguments (secrets redacted), by response key. */
export function describeMutation(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
): { fields: string[]; arguments: Record<string, unknown> } {
  const type = schema.getMutationType();
  const fields: string[] = [];
  const args: Record<string, unknown> = {};
  for (const sel of operation.selectionSet.selections) {
    if (sel.kind !== 'Field' || sel.name.value === '__typename') continue;
    fields.push(sel.name.value);
    const def = type?.getFields()[sel.name.value];
    let values: unknown = {};
    try {
      values = def ? getArgumentValues(def, sel, variables) : {};
    } catch {
      values = { invalid: true }; // execution reports the error itself
    }
    args[sel.alias?.value ?? sel.name.value] = redact(values);
  }
  return { fields, arguments: args };
}

export type AuditOutcome = 'OK' | 'ERROR' | 'DENIED';

/** Codes that mean "refused", not "tried and failed". */
const DENIAL_CODES = new Set([
  'FORBIDDEN',
  'UNAUTHENTICATED',
  'QUERY_TOO_DEEP',
  'QUERY_TOO_COMPLEX',
  'RATE_LIMITED',
]);

export function outcomeOf(codes: string[]): AuditOutcome {
  if (codes.length === 0) return 'OK';
  return codes.some((c) => DENIAL_CODES.has(c)) ? 'DENIED' : 'ERROR';
}

export interface AuditClient {
  begin(entry: {
    principal: Principal;
    operationName: string | null;
    fields: string[];
    arguments: unknown;
    clientAddress: string | null;
    requestId: string | null;
  }): Promise<string>;
  finish(id: string, result: AuditOutcome, errorCodes: string[]): Promise<void>;
}

/** Writes the audit log through the auth service; `begin` failing refuses the mutation. */
export function createAuditClient(opts: {
  authUrl: string;
  signer: GatewayTokenSigner;
  logger: Logger;
  timeoutMs?: number;
}): AuditClient {
  const base = new URL(opts.authUrl);
  const post = async (path: string, body: unknown): Promise<unknown> => {
    const res = await fetch(new URL(path, base), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await opts.signer.sign(SYSTEM_PRINCIPAL)}`,
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5_000),
    });
    if (!res.ok) throw new Error(`auth service answered HTTP ${res.status}`);
    return res.json();
  };
  return {
    async begin(entry) {
      try {
        const { id } = (await post(BEGIN_PATH, entry)) as { id: string };
        return id;
      } catch (err) {
        opts.logger.error({ err }, 'audit log unavailable; mutation refused');
        throw new GraphQLError(
          'the audit log is unavailable, so no change is accepted now; try again',
          {
            extensions: { code: 'AUDIT_UNAVAILABLE', http: { status: 503 } },
          },
        );
      }
    },
    async finish(id, result, errorCodes) {
      try {
        await post(FINISH_PATH, { id, result, errorCodes });
      } catch (err) {
        // The entry stays PENDING: the log still says the mutation was attempted.
        opts.logger.error({ err, auditId: id }, 'could not record the end of an audited mutation');
      }
    },
  };
}
