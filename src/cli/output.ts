// Rendering objects for `get`: a table from the kind's printer columns, YAML or JSON.

import { stringify } from 'yaml';
import type { Resource } from '../datastore/types.js';
import type { KindInfo, PrinterColumn } from '../resources/index.js';
import { UsageError } from './errors.js';
import { formatTable } from './table.js';

export type OutputFormat = 'table' | 'yaml' | 'json';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'yaml', 'json'];

export function parseOutputFormat(value: string): OutputFormat {
  if ((OUTPUT_FORMATS as readonly string[]).includes(value)) return value as OutputFormat;
  throw new UsageError(`unknown output format "${value}": expected one of ${OUTPUT_FORMATS.join(', ')}`);
}

/** Follows a printer column's `.a.b.c` path. */
function lookup(obj: unknown, jsonPath: string): unknown {
  let value: unknown = obj;
  for (const key of jsonPath.split('.').slice(1)) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** kubectl's age format: the two most significant units, e.g. 3d4h, 5m10s. */
export function formatAge(from: Date, now: Date): string {
  let s = Math.max(0, Math.floor((now.getTime() - from.getTime()) / 1000));
  const units: [string, number][] = [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  for (const [unit, size] of units) {
    if (s >= size || (unit === 's' && parts.length === 0)) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join('');
}

function cell(obj: Resource, column: PrinterColumn, now: Date): string {
  const value = lookup(obj, column.jsonPath);
  if (value === undefined || value === null) return '<none>';
  if (column.type === 'date' && typeof value === 'string') return formatAge(new Date(value), now);
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

export function renderTable(info: KindInfo, items: readonly Resource[], now: Date = new Date()): string {
  if (items.length === 0) return `No ${info.plural} found.\n`;
  const showNamespace = info.namespaced;
  const header = [
    ...(showNamespace ? ['NAMESPACE'] : []),
    'NAME',
    ...info.printerColumns.map((c) => c.name.toUpperCase()),
  ];
  const rows = items.map((obj) => [
    ...(showNamespace ? [obj.metadata.namespace ?? ''] : []),
    obj.metadata.name,
    ...info.printerColumns.map((c) => cell(obj, c, now)),
  ]);
  return `${formatTable(header, rows)}\n`;
}

/** A single object renders as itself; several as a YAML stream or a JSON List, both re-appliable. */
export function renderObjects(format: 'yaml' | 'json', items: readonly Resource[], single: boolean): string {
  if (format === 'json') {
    const value = single ? items[0] : { apiVersion: 'v1', kind: 'List', items };
    return `${JSON.stringify(value, null, 2)}\n`;
  }
  return items.map((obj) => stringify(obj, { lineWidth: 0 })).join('---\n');
}
