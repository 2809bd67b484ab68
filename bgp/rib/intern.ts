// Interning of PathAttrs: equal attribute sets become one object, so the RIB compares them by
// identity, policy and export results can be memoised per object, and Adj-RIB-Out groups
// prefixes by identity into UPDATEs. Entries go away with their last user (weak references).
import type { PathAttrs } from './path.js';

const hex = (b: Buffer): string => b.toString('hex');

/** A string equal for equal attribute sets (order of list elements included: it is on the wire). */
export function attrsKey(a: PathAttrs): string {
  const path = a.asPath.map((s) => `${s.type}:${s.asns.join(',')}`).join(' ');
  return [
    a.origin,
    path,
    a.med ?? '',
    a.localPref ?? '',
    a.atomicAggregate ? 'A' : '',
    a.aggregator === undefined ? '' : `${a.aggregator.asn}@${a.aggregator.address}`,
    a.communities.join(','),
    a.largeCommunities.map((c) => `${c.globalAdmin}:${c.localData1}:${c.localData2}`).join(','),
    a.extCommunities.map((c) => `${c.typeHigh}.${c.typeLow}.${hex(c.value)}`).join(','),
    a.originatorId ?? '',
    a.clusterList.join(','),
    a.unknown.map((u) => `${u.typeCode}.${u.flags}.${hex(u.value)}`).join(','),
  ].join('|');
}

const table = new Map<string, WeakRef<PathAttrs>>();
const cleanup = new FinalizationRegistry<string>((key) => {
  // The key may have been re-interned since: only drop a dead entry.
  if (table.get(key)?.deref() === undefined) table.delete(key);
});

/** The canonical object for these attributes (frozen). */
export function internAttrs(a: PathAttrs): PathAttrs {
  const key = attrsKey(a);
  const known = table.get(key)?.deref();
  if (known !== undefined) return known;
  const frozen = Object.freeze({ ...a });
  table.set(key, new WeakRef(frozen));
  cleanup.register(frozen, key);
  return frozen;
}
