// A benchmark section: something that measures and returns tables. `run.ts` runs the registered
// sections in order and prints their tables; a section cleans up after itself.

import { formatTable } from '../../src/cli/table.js';

export interface BenchTable {
  title: string;
  columns: string[];
  rows: string[][];
  /** Lines printed under the table: conditions, caveats. */
  notes?: string[];
}

export interface BenchSection {
  /** Short name, used to pick sections on the command line. */
  name: string;
  run(): Promise<BenchTable[]>;
}

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of an empty list');
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function formatBenchTable(t: BenchTable): string {
  const align = t.columns.map((_, i): 'left' | 'right' => (i === 0 ? 'left' : 'right'));
  const body = formatTable(t.columns, t.rows, { gap: 2, align });
  return [t.title, body, ...(t.notes ?? []).map((n) => `  ${n}`)].join('\n');
}
