import { isPrincipal, PrincipalKind, type Principal } from '@dirsync/kit/auth';
import { HttpError, type AuthMetrics, type RouteHandler } from '@dirsync/kit';
import { z } from 'zod';
import type { AuditService } from '../audit/audit.service.js';
import type { KeyService } from '../keys/key.service.js';

/**
 * The gateway's internal API (JSON POST, gateway token of the SYSTEM principal only): check an
 * API key, and write the audit log around every mutation. Paths are versioned so a gateway and an
 * auth service of neighbouring releases keep working together during a rolling update.
 */
export const INTERNAL_ROUTES = {
  authenticate: '/internal/v1/authenticate',
  auditBegin: '/internal/v1/audit/begin',
  auditFinish: '/internal/v1/audit/finish',
} as const;

const authenticateBody = z.object({ key: z.string().max(200) });
const beginBody = z.object({
  principal: z.custom<Principal>(isPrincipal, 'not a principal'),
  operationName: z.string().max(200).nullable(),
  fields: z.array(z.string().max(200)).max(100),
  arguments: z.unknown(),
  clientAddress: z.string().max(100).nullable(),
  requestId: z.string().max(100).nullable(),
});
const finishBody = z.object({
  id: z.string().max(100),
  result: z.enum(['OK', 'ERROR', 'DENIED']),
  errorCodes: z.array(z.string().max(100)).max(100),
});

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) {
    throw new HttpError(
      400,
      'BAD_REQUEST',
      r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    );
  }
  return r.data;
}

function systemOnly(principal: Principal): void {
  if (principal.kind !== PrincipalKind.SYSTEM) {
    throw new HttpError(403, 'FORBIDDEN', 'internal endpoints answer the gateway only');
  }
}

export function internalRoutes(deps: {
  keys: KeyService;
  audit: AuditService;
  metrics: AuthMetrics;
}): Record<string, RouteHandler<Principal>> {
  const checks = deps.metrics.keyChecks;
  return {
    [INTERNAL_ROUTES.authenticate]: async (body, principal) => {
      systemOnly(principal);
      const { key } = parse(authenticateBody, body);
      const answer = await deps.keys.authenticate(key);
      checks.inc({ result: 'refused' in answer ? answer.refused : 'accepted' });
      return { body: answer };
    },
    [INTERNAL_ROUTES.auditBegin]: async (body, principal) => {
      systemOnly(principal);
      const entry = parse(beginBody, body);
      return { body: { id: await deps.audit.begin(entry) } };
    },
    [INTERNAL_ROUTES.auditFinish]: async (body, principal) => {
      systemOnly(principal);
      const { id, result, errorCodes } = parse(finishBody, body);
      await deps.audit.finish(id, result, errorCodes);
      return { body: { ok: true } };
    },
  };
}
