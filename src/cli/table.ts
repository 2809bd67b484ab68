// Plain-text tables for every command that prints one (get, bgp peers/routes, lab, bench):
// columns as wide as their widest cell, no trailing blanks.
export interface TableOptions {
  /** Spaces between columns; default 3, as kubectl prints. */
  gap?: number;
  /** Per column; default left. Right suits numbers. */
  align?: readonly ('left' | 'right')[];
}

/** The header and rows as lines joined by '\n', without a final newline. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  opts: TableOptions = {},
): string {
  const gap = ' '.repeat(opts.gap ?? 3);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (opts.align?.[i] === 'right' ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join(gap)
      .trimEnd();
  return [header, ...rows].map(line).join('\n');
}
