// rtm_scope / ifa_scope values by name (linux/rtnetlink.h enum rt_scope_t).
import { NetlinkDecodeError, NetlinkInputError } from './errors.js';

export type Scope = 'universe' | 'site' | 'link' | 'host' | 'nowhere';

const SCOPE_VALUES: Readonly<Record<Scope, number>> = {
  universe: 0,
  site: 200,
  link: 253,
  host: 254,
  nowhere: 255,
};

const SCOPE_NAMES: ReadonlyMap<number, Scope> = new Map(
  Object.entries(SCOPE_VALUES).map(([name, value]) => [value, name as Scope]),
);

export function scopeValue(scope: Scope): number {
  const value = SCOPE_VALUES[scope];
  if (value === undefined) throw new NetlinkInputError(`unknown scope "${scope}"`);
  return value;
}

export function scopeName(value: number): Scope {
  const name = SCOPE_NAMES.get(value);
  if (name === undefined) throw new NetlinkDecodeError(`unknown scope ${value}`, 0);
  return name;
}
