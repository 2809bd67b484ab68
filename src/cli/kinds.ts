// Kind names as users type them, and how objects are referred to in output.
import type { Resource } from '../datastore/types.js';
import { findKind, type KindInfo, kindInfo } from '../resources/index.js';
import { CliError } from './errors.js';

export function resolveKind(name: string): KindInfo {
  const info = findKind(name);
  if (info === undefined) throw new CliError(`unknown resource type "${name}"`);
  return info;
}

/** `ippool/p1`, as kubectl prints it. */
export function objectRef(obj: Pick<Resource, 'kind' | 'metadata'>): string {
  const singular = kindInfo(obj.kind)?.singular ?? obj.kind.toLowerCase();
  return `${singular}/${obj.metadata.name}`;
}
