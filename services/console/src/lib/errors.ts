import { CombinedGraphQLErrors, ServerError } from '@apollo/client/errors';

/** One GraphQL error as the gateway answers it: a message and a stable `extensions.code`. */
export interface ApiProblem {
  message: string;
  code: string;
  extensions: Record<string, unknown>;
}

/**
 * One bad input field: of a BAD_USER_INPUT answer (`extensions.fields`), or an error about one
 * field (`extensions.field`: a CONFLICT on an e-mail or username), with its code.
 */
export interface FieldProblem {
  field: string;
  message: string;
  /** The error's `extensions.code` when it is not BAD_USER_INPUT (shown beside the message). */
  code?: string;
}

function fromBody(text: string): ApiProblem[] {
  try {
    const body = JSON.parse(text) as {
      errors?: { message?: string; extensions?: Record<string, unknown> }[];
    };
    return (body.errors ?? []).map((e) => ({
      message: e.message ?? 'error',
      code: String(e.extensions?.code ?? 'ERROR'),
      extensions: e.extensions ?? {},
    }));
  } catch {
    return [];
  }
}

/** The problems an Apollo error carries, from GraphQL errors or an HTTP error's JSON body. */
export function problemsOf(error: unknown): ApiProblem[] {
  if (!error) return [];
  if (CombinedGraphQLErrors.is(error)) {
    return error.errors.map((e) => ({
      message: e.message,
      code: String(e.extensions?.code ?? 'ERROR'),
      extensions: (e.extensions ?? {}) as Record<string, unknown>,
    }));
  }
  if (ServerError.is(error)) {
    const parsed = fromBody(error.bodyText);
    if (parsed.length) return parsed;
    return [
      { message: `HTTP ${error.statusCode}`, code: `HTTP_${error.statusCode}`, extensions: {} },
    ];
  }
  const message = error instanceof Error ? error.message : String(error);
  return [{ message, code: 'NETWORK', extensions: {} }];
}

/** The first error code of an error (branch on this, never on the message). */
export function errorCode(error: unknown): string | undefined {
  return problemsOf(error)[0]?.code;
}

/**
 * Every bad field of a BAD_USER_INPUT answer, and every other error that names its field
 * (`extensions.field`), so a form shows each beside its input.
 */
export function fieldProblems(error: unknown): FieldProblem[] {
  return problemsOf(error).flatMap((p): FieldProblem[] => {
    if (p.code !== 'BAD_USER_INPUT') {
      const field = p.extensions.field;
      return typeof field === 'string' ? [{ field, message: p.message, code: p.code }] : [];
    }
    const fields = p.extensions.fields;
    if (!Array.isArray(fields)) return [];
    return fields.filter(
      (f): f is FieldProblem =>
        typeof f === 'object' &&
        f !== null &&
        typeof (f as FieldProblem).field === 'string' &&
        typeof (f as FieldProblem).message === 'string',
    );
  });
}

/**
 * The problems of `problems` that belong to the form field `path`: the field itself, an element
 * (`selectedGroups[3]`) or a part (`mapping.custom[0].name` belongs to `mapping.custom`).
 */
export function problemsAt(problems: FieldProblem[], path: string): FieldProblem[] {
  return problems.filter(
    (p) => p.field === path || p.field.startsWith(`${path}[`) || p.field.startsWith(`${path}.`),
  );
}
