/** Where a command writes. `stdout` carries results (tables, JSON); `stderr` progress and errors. */
export interface Io {
  stdout: Writable;
  stderr: Writable;
}

export interface Writable {
  write(text: string): unknown;
  /** A terminal: progress redraws in place. */
  isTTY?: boolean;
}

/** Print a value as JSON (the `--json` form of every command). */
export function printJson(io: Io, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export type Cell = string | number | boolean | null | undefined;

const cellText = (c: Cell): string => (c === null || c === undefined || c === '' ? '-' : String(c));

/** A left-aligned text table with a header row; numbers are right-aligned. */
export function formatTable(headers: string[], rows: Cell[][]): string {
  const text = rows.map((r) => r.map(cellText));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map(
    (_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...text.map(line)].join('\n') + '\n';
}

/** `key  value` lines, keys aligned. */
export function formatPairs(pairs: [string, Cell][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${cellText(v)}`).join('\n') + '\n';
}

/**
 * `[#####.....]` for done of total (empty brackets while the total is unknown); `finished`: the
 * run read to its end, so the bar is full whatever it counted (0 for a quiet DELTA run, fewer
 * than expected for a BLOCKED one).
 */
export function progressBar(
  done: number,
  total: number | undefined,
  width = 30,
  finished = false,
): string {
  if (finished) return `[${'#'.repeat(width)}]`;
  if (!total) return `[${' '.repeat(width)}]`;
  const filled = Math.min(width, Math.round((done / total) * width));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/**
 * A progress line on stderr: redrawn in place on a terminal, otherwise printed at most once per
 * `everyMs` (logs of a scheduler stay short).
 */
export function createProgress(io: Io, everyMs = 5_000) {
  let last = 0;
  let drawn = false;
  return {
    update(line: string) {
      if (io.stderr.isTTY) {
        io.stderr.write(`\r\x1b[2K${line}`);
        drawn = true;
      } else if (Date.now() - last >= everyMs) {
        io.stderr.write(`${line}\n`);
        last = Date.now();
      }
    },
    /** The last line, always shown (not throttled), so a script's log ends with the outcome. */
    final(line: string) {
      io.stderr.write(io.stderr.isTTY ? `\r\x1b[2K${line}\n` : `${line}\n`);
      drawn = false;
    },
    done() {
      if (drawn) io.stderr.write('\n');
      drawn = false;
    },
  };
}

/** One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF. */
export function csvField(value: Cell): string {
  const s = value === null || value === undefined ? '' : String(value);
  // A leading =, +, - or @ makes spreadsheets evaluate the cell; a quote mark disarms it.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export const csvLine = (cells: Cell[]) => `${cells.map(csvField).join(',')}\r\n`;

/**
 * A count with its noun in the right number: `plural(1, 'run')` → `1 run`, `plural(3, 'run')` →
 * `3 runs`, `plural(2, 'entry', 'entries')`. Every count a command prints goes through here.
 */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '-';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
