import { describe, expect, it } from 'vitest';
import { createProgress, csvField, formatTable, plural, progressBar } from './output.js';

describe('output', () => {
  it('plural says 1 run, 0 runs, 2 entries', () => {
    expect(plural(1, 'run')).toBe('1 run');
    expect(plural(0, 'run')).toBe('0 runs');
    expect(plural(2, 'entry', 'entries')).toBe('2 entries');
  });

  it('formatTable aligns columns and right-aligns numbers', () => {
    expect(
      formatTable(
        ['name', 'users'],
        [
          ['a', 5],
          ['longer', 1063],
        ],
      ),
    ).toBe('NAME    USERS\na           5\nlonger   1063\n');
    expect(formatTable(['x'], [[null]])).toBe('X\n-\n');
  });

  it('csvField quotes per RFC 4180 and disarms spreadsheet formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField(null)).toBe('');
  });

  it('progress outside a terminal: throttled updates, but the final line always', () => {
    const lines: string[] = [];
    const io = { stdout: { write: () => true }, stderr: { write: (t: string) => lines.push(t) } };
    const p = createProgress(io, 60_000);
    p.update('QUEUED seen 0');
    p.update('RUNNING seen 10'); // within the throttle window: not written
    p.final('COMPLETED seen 20');
    p.done();
    expect(lines).toEqual(['QUEUED seen 0\n', 'COMPLETED seen 20\n']);
  });

  it('progressBar fills in proportion and stays empty without a total', () => {
    expect(progressBar(5, 10, 10)).toBe('[#####.....]');
    expect(progressBar(50, 10, 10)).toBe('[##########]');
    expect(progressBar(3, undefined, 4)).toBe('[    ]');
  });
});
