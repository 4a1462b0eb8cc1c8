import { MAX_VALUE_LENGTH } from '@dirsync/kit';
import { apiError, ApiErrorCode } from '@dirsync/kit/graphql';

/**
 * What operators' mutations on users and administrators share (`user-manage.resolver.ts`,
 * `admin.resolver.ts`): a synced record is READ_ONLY — its fields come from its directory — and
 * the text fields of manual records are checked the same way, every problem reported at once.
 */

/** The problems found in one input, each naming its field (`extensions.fields`). */
export type Problems = { field: string; message: string }[];

/**
 * Longest name, e-mail or kind an operator may give: what a sync imports (`MAX_VALUE_LENGTH`),
 * so a manual record and a synced one hold the same values.
 */
export const MAX_NAME_LENGTH = MAX_VALUE_LENGTH;

/** BAD_USER_INPUT listing every problem. */
export function badInput(problems: Problems): never {
  throw apiError(
    ApiErrorCode.BAD_USER_INPUT,
    `invalid input: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`,
    { fields: problems },
  );
}

/** A text field's value: trimmed, NFC; "" and null clear it; control characters refused. */
export function checkText(
  field: string,
  v: string | null | undefined,
  problems: Problems,
): string | null | undefined {
  if (v === undefined) return undefined;
  if (v === null) return null;
  const t = v.normalize('NFC').trim();
  // eslint-disable-next-line no-control-regex -- the point is to find control characters
  if (/[\u0000-\u001f\u007f-\u009f]/.test(t))
    problems.push({ field, message: 'must not contain control characters' });
  else if (t.length > MAX_NAME_LENGTH)
    problems.push({ field, message: `must be at most ${MAX_NAME_LENGTH} characters` });
  return t === '' ? null : t;
}

/**
 * READ_ONLY when the record is synced (it has a directory): the change belongs in the source.
 * `explain` words it for the kind of record; `extensions.directoryId` is always set.
 */
export function refuseSynced(
  directoryId: string | null,
  explain: (directoryId: string) => { message: string; extensions: Record<string, unknown> },
): void {
  if (directoryId === null) return;
  const { message, extensions } = explain(directoryId);
  throw apiError(ApiErrorCode.READ_ONLY, message, { ...extensions, directoryId });
}
