// What an UPDATE means for the RIB, so sessions do not each re-derive it: the routes announced
// and withdrawn across the classic fields and MP attributes, treat-as-withdraw applied, and
// the End-of-RIB marker of graceful restart (RFC 4724 section 2).
import type { IpFamily, Prefix } from './prefix.js';
import type { DecodedUpdate, UpdateMessage } from './update.js';

export interface RouteChanges {
  readonly announced: readonly Prefix[];
  readonly withdrawn: readonly Prefix[];
}

/** Announcements and withdrawals of a decoded UPDATE; under treat-as-withdraw everything is withdrawn (RFC 7606 2). */
export function routeChanges(update: DecodedUpdate): RouteChanges {
  const announced: Prefix[] = [...update.nlri];
  const withdrawn: Prefix[] = [...update.withdrawn];
  for (const a of update.attributes) {
    if (a.type === 'mp-reach-nlri') announced.push(...a.nlri);
    else if (a.type === 'mp-unreach-nlri') withdrawn.push(...a.withdrawn);
  }
  if (update.handling.kind === 'treat-as-withdraw')
    return { announced: [], withdrawn: [...withdrawn, ...announced] };
  return { announced, withdrawn };
}

/** IPv4 unicast: an empty UPDATE. Others: an UPDATE with only an empty MP_UNREACH_NLRI. */
export function endOfRib(family: IpFamily): UpdateMessage {
  return {
    type: 'update',
    withdrawn: [],
    attributes: family === 'ipv4' ? [] : [{ type: 'mp-unreach-nlri', family, withdrawn: [] }],
    nlri: [],
  };
}

/** The family whose End-of-RIB this UPDATE is, or undefined if it is not one. */
export function endOfRibFamily(update: UpdateMessage): IpFamily | undefined {
  if (update.withdrawn.length > 0 || update.nlri.length > 0) return undefined;
  if (update.attributes.length === 0) return 'ipv4';
  const [only] = update.attributes;
  if (update.attributes.length === 1 && only?.type === 'mp-unreach-nlri' && only.withdrawn.length === 0) {
    return only.family;
  }
  return undefined;
}
