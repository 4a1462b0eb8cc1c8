/** Formatting for tables: times relative to now (with the exact time as a tooltip), durations. */

export function relativeTime(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const s = Math.round((t - now) / 1000);
  const abs = Math.abs(s);
  const [value, unit] =
    abs < 45
      ? [s, 'second']
      : abs < 45 * 60
        ? [Math.round(s / 60), 'minute']
        : abs < 36 * 3600
          ? [Math.round(s / 3600), 'hour']
          : [Math.round(s / 86400), 'day'];
  if (unit === 'second' && abs < 5) return 'just now';
  return new Intl.RelativeTimeFormat('en', { numeric: 'auto' }).format(
    value,
    unit as Intl.RelativeTimeFormatUnit,
  );
}

export function exactTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleString('en-GB', { timeZoneName: 'short' });
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export const number = (n: number | null | undefined) =>
  n === null || n === undefined ? '—' : n.toLocaleString('en-US');

/**
 * A count with its noun in the right number: `plural(1, 'user')` → `1 user`,
 * `plural(1063, 'user')` → `1,063 users`, `plural(2, 'entry', 'entries')` → `2 entries`. Every
 * count the console prints goes through here, so none reads "1 users".
 */
export function plural(n: number | null | undefined, one: string, many = `${one}s`): string {
  if (n === null || n === undefined) return `— ${many}`;
  return `${number(n)} ${n === 1 ? one : many}`;
}

/** `PENDING_DELETION` → `pending deletion`. */
export const words = (s: string | null | undefined) =>
  s ? s.toLowerCase().replace(/_/g, ' ') : '';

/**
 * A person's name for a list: the display name, else first and last name (sources often leave
 * displayName empty), else null.
 */
export function personName(p: {
  displayName?: string | null;
  firstName?: string | null;
  lastName?: string | null;
}): string | null {
  const display = p.displayName?.trim();
  if (display) return display;
  const parts = [p.firstName, p.lastName].map((s) => s?.trim()).filter(Boolean);
  return parts.length ? parts.join(' ') : null;
}

/** A server message as a sentence: capital first letter, closing full stop. */
export function sentence(message: string): string {
  const m = message.trim();
  if (!m) return m;
  const capital = m.charAt(0).toUpperCase() + m.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

const PREDICATE = /^(is|are|must|should|cannot|can't|has|have|needs?|may|was|were|does|do)\b/i;

/**
 * A field's problem as a sentence about the field's label, for the form: the API names fields
 * by their input path and words its messages either as a predicate ("is required") or with the
 * path's last key as subject ("bindDn is required"); both read "Bind DN is required.". A problem
 * of a part of the field (`selectedGroups[2]`, `mapping.custom[0].name`) names the part after
 * the label ("Selected groups item 3 is not a DN.").
 */
export function fieldSentence(label: string, name: string, field: string, message: string): string {
  const rest = field.startsWith(name) ? field.slice(name.length) : `.${field}`;
  const part = rest
    .replace(/\[(\d+)\]/g, (_, i: string) => ` item ${Number(i) + 1}`)
    .replace(/\./g, ' ')
    .trim();
  const subject = part ? `${label} ${part}` : label;
  const key = /([A-Za-z0-9_]+)(?:\[\d+\])*$/.exec(field)?.[1] ?? '';
  let m = message.trim();
  if (key && m.toLowerCase().startsWith(`${key.toLowerCase()} `)) {
    m = `${subject}${m.slice(key.length)}`;
  } else if (PREDICATE.test(m)) {
    m = `${subject} ${m}`;
  } else if (part) {
    m = `${subject}: ${m}`;
  }
  return sentence(m);
}
