// Reachability matrices: for every ordered pod pair and every served (protocol, port), whether a
// fresh connection gets through. Printed like the upstream e2e truth tables.
import { PROTOCOLS, type Protocol } from '../../policy/model.js';
import { SERVED_PORTS } from './agent-protocol.js';

export interface Service {
  protocol: Protocol;
  port: number;
}

export const SERVICES: readonly Service[] = PROTOCOLS.flatMap((protocol) =>
  SERVED_PORTS.map((port) => ({ protocol, port })),
);

export const serviceName = (s: Service): string => `${s.protocol}/${s.port}`;

export interface Cell {
  from: string;
  to: string;
  service: Service;
}

/** Keyed by `cellKey`. */
export type Matrix = ReadonlyMap<string, boolean>;

export const cellKey = (c: Cell): string => `${c.from}>${c.to} ${serviceName(c.service)}`;

export function allCells(podIds: readonly string[]): Cell[] {
  return podIds.flatMap((from) => podIds.flatMap((to) => SERVICES.map((service) => ({ from, to, service }))));
}

export function mismatches(cells: readonly Cell[], expected: Matrix, actual: Matrix): Cell[] {
  return cells.filter((c) => expected.get(cellKey(c)) !== actual.get(cellKey(c)));
}

/**
 * One table per service that has a wrong cell: rows are sources, columns destinations.
 * `.` allowed as expected, `X` denied as expected, `+` allowed but expected denied (a leak),
 * `-` denied but expected allowed.
 */
export function describeMismatches(podIds: readonly string[], expected: Matrix, actual: Matrix): string {
  const out: string[] = [];
  for (const service of SERVICES) {
    const rows = podIds.map((from) => {
      const marks = podIds.map((to) => {
        const k = cellKey({ from, to, service });
        const [e, a] = [expected.get(k), actual.get(k)];
        if (e === a) return e ? '.' : 'X';
        return a ? '+' : '-';
      });
      return `  ${from}  ${marks.join('   ')}`;
    });
    if (rows.some((r) => /[+-]/.test(r.slice(6)))) {
      out.push(`${serviceName(service)} (. allowed, X denied, + leaked, - wrongly denied)`);
      out.push(`       ${podIds.join(' ')}`, ...rows);
    }
  }
  return out.join('\n');
}

/**
 * A hand-written expectation: one line per source pod, `<from>: <marks>` (`.` allowed, `X`
 * denied) for the destinations in pod order, grouped by spaces at will. `table` holds for
 * `services`, `otherTable` for the remaining services.
 */
export function handTable(
  podIds: readonly string[],
  table: string,
  services: readonly Service[] = SERVICES,
  otherTable?: string,
): Matrix {
  const rows = parseTable(podIds, table);
  const otherRows = otherTable === undefined ? undefined : parseTable(podIds, otherTable);
  const listed = new Set(services.map(serviceName));
  const m = new Map<string, boolean>();
  for (const service of SERVICES) {
    const source = listed.has(serviceName(service)) ? rows : otherRows;
    if (source === undefined) throw new Error(`hand table covers no table for ${serviceName(service)}`);
    for (const [from, row] of source) {
      for (const [i, to] of podIds.entries()) m.set(cellKey({ from, to, service }), row[i] === '.');
    }
  }
  return m;
}

function parseTable(podIds: readonly string[], text: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line === '') continue;
    const [from, marks] = line.split(':').map((s) => s.trim()) as [string, string];
    const row = (marks ?? '').replace(/\s+/g, '');
    if (!podIds.includes(from) || row.length !== podIds.length || /[^.X]/.test(row)) {
      throw new Error(`bad hand table row "${line}"`);
    }
    rows.set(from, row);
  }
  if (rows.size !== podIds.length) throw new Error(`hand table has ${rows.size} rows, want ${podIds.length}`);
  return rows;
}
