import {
  X509Certificate,
  constants,
  createHash,
  createHmac,
  randomBytes,
  randomUUID,
  timingSafeEqual,
  verify,
} from 'node:crypto';

/** Application permissions (app roles) a Graph app registration may have been granted. */
export type GraphPermission =
  | 'User.Read.All'
  | 'Group.Read.All'
  | 'GroupMember.Read.All'
  | 'Directory.Read.All'
  | 'RoleManagement.Read.Directory';

/** An app registration of the fake tenant (a confidential client). */
export interface AppRegistration {
  clientId: string;
  /** Client secrets that are valid. */
  secrets: string[];
  /** PEM certificates uploaded to the app (certificate credentials). */
  certificates: string[];
  /** Admin-consented application permissions. */
  permissions: GraphPermission[];
}

/** A token endpoint error as Entra answers it (RFC 6749 §5.2 plus `error_codes`). */
export interface TokenError {
  status: number;
  body: {
    error: string;
    error_description: string;
    error_codes: number[];
    timestamp: string;
    trace_id: string;
    correlation_id: string;
  };
}

interface IssuedToken {
  clientId: string;
  roles: string[];
  iat: number;
  exp: number;
}

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

function tokenError(status: number, error: string, code: number, text: string): TokenError {
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${text} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
      error_codes: [code],
      timestamp: new Date().toISOString(),
      trace_id: randomUUID(),
      correlation_id: randomUUID(),
    },
  };
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function decodeJwtPart(part: string | undefined): Record<string, unknown> | undefined {
  if (!part) return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The Microsoft identity platform's client-credentials flow for one tenant: app registrations,
 * `POST /{tenant}/oauth2/v2.0/token` (client secret, or a client assertion signed with an uploaded
 * certificate), and validation of the bearer tokens it issued.
 */
export class Authority {
  private readonly apps = new Map<string, AppRegistration>();
  private readonly key = randomBytes(32);
  /** Tokens issued before this (seconds) are rejected: "revoke every session". */
  private revokedBefore = 0;
  tokenLifetimeSeconds = 3599;
  tokensIssued = 0;

  constructor(readonly tenantId: string) {}

  register(app: Partial<AppRegistration> & { clientId?: string }): AppRegistration {
    const reg: AppRegistration = {
      clientId: app.clientId ?? randomUUID(),
      secrets: app.secrets ?? [],
      certificates: app.certificates ?? [],
      permissions: app.permissions ?? ['User.Read.All', 'GroupMember.Read.All'],
    };
    this.apps.set(reg.clientId, reg);
    return reg;
  }

  app(clientId: string): AppRegistration | undefined {
    return this.apps.get(clientId);
  }

  revokeTokens(): void {
    this.revokedBefore = Math.floor(Date.now() / 1000) + 1;
  }

  /** Answer a token request (form fields), or the error Entra would send. */
  token(
    form: URLSearchParams,
    tokenEndpoint: string,
  ): { ok: true; body: Record<string, unknown> } | { ok: false; error: TokenError } {
    const fail = (e: TokenError) => ({ ok: false as const, error: e });
    if (form.get('grant_type') !== 'client_credentials') {
      return fail(
        tokenError(
          400,
          'unsupported_grant_type',
          70003,
          'The app requested an unsupported grant type.',
        ),
      );
    }
    const clientId = form.get('client_id') ?? '';
    const app = this.apps.get(clientId);
    if (!app) {
      return fail(
        tokenError(
          400,
          'unauthorized_client',
          700016,
          `Application with identifier '${clientId}' was not found in the directory '${this.tenantId}'.`,
        ),
      );
    }
    const scope = form.get('scope') ?? '';
    if (!scope.split(' ').some((s) => s.endsWith('/.default'))) {
      return fail(
        tokenError(
          400,
          'invalid_scope',
          1002012,
          `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.`,
        ),
      );
    }
    const secret = form.get('client_secret');
    const assertion = form.get('client_assertion');
    if (secret !== null) {
      const given = Buffer.from(secret);
      const ok = app.secrets.some((s) => {
        const want = Buffer.from(s);
        return want.length === given.length && timingSafeEqual(want, given);
      });
      if (!ok) {
        return fail(
          tokenError(
            401,
            'invalid_client',
            7000215,
            `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
          ),
        );
      }
    } else if (assertion !== null) {
      if (form.get('client_assertion_type') !== ASSERTION_TYPE) {
        return fail(
          tokenError(400, 'invalid_request', 90002, 'The client_assertion_type is not supported.'),
        );
      }
      const problem = this.checkAssertion(app, assertion, tokenEndpoint);
      if (problem) return fail(problem);
    } else {
      return fail(
        tokenError(
          401,
          'invalid_client',
          7000218,
          "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ),
      );
    }
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      aud: 'https://graph.microsoft.com',
      iss: `https://sts.windows.net/${this.tenantId}/`,
      iat: now,
      nbf: now,
      exp: now + this.tokenLifetimeSeconds,
      appid: clientId,
      tid: this.tenantId,
      roles: app.permissions,
      jti: randomUUID(),
    };
    const head = b64url(JSON.stringify({ typ: 'JWT', alg: 'HS256' }));
    const body = b64url(JSON.stringify(claims));
    const sig = b64url(createHmac('sha256', this.key).update(`${head}.${body}`).digest());
    this.tokensIssued++;
    return {
      ok: true,
      body: {
        token_type: 'Bearer',
        expires_in: this.tokenLifetimeSeconds,
        ext_expires_in: this.tokenLifetimeSeconds,
        access_token: `${head}.${body}.${sig}`,
      },
    };
  }

  /** Validate a bearer token: signature, lifetime, revocation. */
  validate(token: string): IssuedToken | undefined {
    const [head, body, sig] = token.split('.');
    if (!head || !body || !sig) return undefined;
    const want = b64url(createHmac('sha256', this.key).update(`${head}.${body}`).digest());
    if (want.length !== sig.length || !timingSafeEqual(Buffer.from(want), Buffer.from(sig))) {
      return undefined;
    }
    const claims = decodeJwtPart(body);
    if (!claims) return undefined;
    const now = Math.floor(Date.now() / 1000);
    const exp = Number(claims.exp);
    const iat = Number(claims.iat);
    if (!(exp > now) || iat < this.revokedBefore) return undefined;
    const app = this.apps.get(String(claims.appid));
    if (!app) return undefined;
    return { clientId: app.clientId, roles: app.permissions, iat, exp };
  }

  /** RFC 7523 client assertion signed with one of the app's certificates (x5t or x5t#S256). */
  private checkAssertion(
    app: AppRegistration,
    assertion: string,
    tokenEndpoint: string,
  ): TokenError | undefined {
    const invalid = (text: string) => tokenError(401, 'invalid_client', 700027, text);
    const [h, p, s] = assertion.split('.');
    const header = decodeJwtPart(h);
    const payload = decodeJwtPart(p);
    if (!header || !payload || !s) return invalid('Client assertion is not a valid JWT.');
    const certs = app.certificates.map((pem) => new X509Certificate(pem));
    const x5t = typeof header.x5t === 'string' ? header.x5t : undefined;
    const x5tS256 = typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : undefined;
    const cert = certs.find((c) => {
      const der = c.raw;
      return (
        (x5t !== undefined && b64url(createHash('sha1').update(der).digest()) === x5t) ||
        (x5tS256 !== undefined && b64url(createHash('sha256').update(der).digest()) === x5tS256)
      );
    });
    if (!cert) {
      return invalid(
        `Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '${x5t ?? x5tS256 ?? ''}']`,
      );
    }
    const data = Buffer.from(`${h}.${p}`);
    const signature = Buffer.from(s, 'base64url');
    const alg = header.alg;
    const ok =
      alg === 'RS256'
        ? verify('sha256', data, cert.publicKey, signature)
        : alg === 'PS256'
          ? verify(
              'sha256',
              data,
              {
                key: cert.publicKey,
                padding: constants.RSA_PKCS1_PSS_PADDING,
                saltLength: constants.RSA_PSS_SALTLEN_AUTO,
              },
              signature,
            )
          : false;
    if (!ok) return invalid('Client assertion contains an invalid signature.');
    const now = Math.floor(Date.now() / 1000);
    if (payload.iss !== app.clientId || payload.sub !== app.clientId) {
      return invalid('The issuer and subject of the client assertion must be the client id.');
    }
    if (payload.aud !== tokenEndpoint) {
      return invalid(`The audience of the client assertion must be '${tokenEndpoint}'.`);
    }
    if (!(Number(payload.exp) > now)) return invalid('The client assertion has expired.');
    return undefined;
  }
}
