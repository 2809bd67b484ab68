// RFC 4271 6.3 checks on an UPDATE that need the session, so the codec cannot make them: a next
// hop that is our own address on the session, and multicast prefixes in unicast NLRI.
import type { DecodedUpdate, IpFamily, Prefix } from '../codec/index.js';

type Attribute = DecodedUpdate['attributes'][number];

export interface ScreenedUpdate {
  /** The UPDATE to hand on: `update` itself when nothing was wrong. */
  readonly update: DecodedUpdate;
  /** Announcements turned into withdrawals: their next hop is our own address. */
  readonly ownNextHop: readonly Prefix[];
  /** Announcements dropped: multicast destinations (224/4, ff00::/8) in unicast NLRI. */
  readonly multicast: readonly Prefix[];
}

/**
 * Applies the session's semantic checks to a decoded UPDATE. `localAddress`: our address on the
 * session, canonical text (as the codec formats addresses).
 *
 * A route whose next hop is ourselves cannot be installed (RFC 4271 5.1.3) and never becomes
 * resolvable (9.1.2), and 6.3 says to ignore it. Ignoring the UPDATE outright would leave the
 * path it implicitly replaced, which the peer no longer announces; RFC 7606 2 replaces "ignore"
 * with treat-as-withdraw for that reason, so these routes are withdrawn, one family at a time (an
 * UPDATE may carry another family with a usable next hop). Multicast prefixes are ignored
 * ("semantically incorrect NLRI", 6.3): we never accept one, so there is nothing to withdraw.
 */
export function screenUpdate(update: DecodedUpdate, localAddress: string): ScreenedUpdate {
  // Under treat-as-withdraw nothing is announced (codec routeChanges).
  if (update.handling.kind === 'treat-as-withdraw' || !announcesAny(update)) {
    return { update, ownNextHop: [], multicast: [] };
  }
  const ownNextHop: Prefix[] = [];
  const multicast: Prefix[] = [];
  /** The usable prefixes of an announcement list, `list` itself when all are. */
  const unicast = (list: readonly Prefix[]): readonly Prefix[] => {
    if (!list.some(isMulticast)) return list;
    const kept: Prefix[] = [];
    for (const p of list) (isMulticast(p) ? multicast : kept).push(p);
    return kept;
  };

  let withdrawn = update.withdrawn;
  let nlri = unicast(update.nlri);
  const classicHop = update.attributes.find((a) => a.type === 'next-hop');
  if (nlri.length > 0 && classicHop?.nextHop === localAddress) {
    ownNextHop.push(...nlri);
    withdrawn = [...withdrawn, ...nlri];
    nlri = [];
  }
  const attributes: Attribute[] = [];
  const mpWithdrawn = new Map<IpFamily, Prefix[]>();
  for (const a of update.attributes) {
    if (a.type !== 'mp-reach-nlri') {
      attributes.push(a);
      continue;
    }
    const reach = unicast(a.nlri);
    if (reach.length > 0 && a.nextHop === localAddress) {
      ownNextHop.push(...reach);
      mpWithdrawn.set(a.family, [...reach]);
    } else {
      attributes.push(reach === a.nlri ? a : { ...a, nlri: reach });
    }
  }
  if (ownNextHop.length === 0 && multicast.length === 0) return { update, ownNextHop, multicast };
  // One MP_UNREACH_NLRI per family: our withdrawals join the peer's own for that family.
  for (const [i, a] of attributes.entries()) {
    if (a.type !== 'mp-unreach-nlri') continue;
    const more = mpWithdrawn.get(a.family);
    if (more === undefined) continue;
    attributes[i] = { ...a, withdrawn: [...a.withdrawn, ...more] };
    mpWithdrawn.delete(a.family);
  }
  for (const [family, prefixes] of mpWithdrawn) {
    attributes.push({ type: 'mp-unreach-nlri', family, withdrawn: prefixes });
  }
  return { update: { ...update, withdrawn, attributes, nlri }, ownNextHop, multicast };
}

function announcesAny(update: DecodedUpdate): boolean {
  return (
    update.nlri.length > 0 || update.attributes.some((a) => a.type === 'mp-reach-nlri' && a.nlri.length > 0)
  );
}

/**
 * A destination inside 224.0.0.0/4 or ff00::/8, read from the canonical text without parsing it
 * (this runs for every announced prefix): IPv4 first octet 224..239; an IPv6 first group of four
 * hex digits starting "ff" (a shorter group such as "ff:" or "ffa:" is below 0x1000).
 */
export function isMulticast(p: Prefix): boolean {
  const a = p.addr;
  if (p.family === 'ipv6') return p.len >= 8 && a.indexOf(':') === 4 && a.startsWith('ff');
  if (p.len < 4 || a.charCodeAt(3) !== 0x2e || a.charCodeAt(0) !== 0x32) return false;
  const tens = a.charCodeAt(1);
  const ones = a.charCodeAt(2) - 0x30;
  return (tens === 0x32 && ones >= 4 && ones <= 9) || (tens === 0x33 && ones >= 0 && ones <= 9);
}
