import { writeFileSync } from 'node:fs';
import type { Row } from './scenarios/scenario.js';

const HEADERS = ['scenario', 'Tally', 'baseline (same run)', 'ratio', 'target', 'result'];

/** The one table `npm run bench` prints. */
export function formatTable(rows: Row[]): string {
  const cells = rows.map((row) => [
    row.scenario,
    row.tally,
    row.baseline,
    row.ratio === undefined || !Number.isFinite(row.ratio) ? '—' : `${row.ratio.toFixed(2)}×`,
    row.target,
    row.pass === undefined ? '—' : row.pass ? 'pass' : 'FAIL',
  ]);
  const widths = HEADERS.map((header, i) => Math.max(header.length, ...cells.map((line) => line[i].length)));
  const line = (values: string[]) => `| ${values.map((value, i) => value.padEnd(widths[i])).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(HEADERS), rule, ...cells.map(line)].join('\n');
}

/** bench/results.json: every raw figure, the machine, and the targets, for comparing runs later. */
export function writeResults(path: string, results: Record<string, unknown>): void {
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}
