// Input checks for kernel routes, done before any state changes (bad input leaves no trace).
import { scanCanonicalIPv4Cidr } from '../../src/netlink/index.js';
import { BgpEncodeError, parsePrefix } from '../codec/index.js';
import { KernelRouteError } from './errors.js';
import type { KernelRoute } from './routes.js';

function canonicalPrefix(text: string): { family: 4 | 6; canonical: string } | undefined {
  try {
    const p = parsePrefix(text);
    return { family: p.family === 'ipv4' ? 4 : 6, canonical: `${p.addr}/${p.len}` };
  } catch (err) {
    if (err instanceof BgpEncodeError) return undefined;
    throw err;
  }
}

/** Gateways already checked: a full table has 100k routes but only a handful of next hops. */
const knownGateways = new Map<string, 4 | 6 | undefined>();
const MAX_KNOWN_GATEWAYS = 4096;

function isGateway(text: string, family: 4 | 6): boolean {
  let known = knownGateways.get(text);
  if (known === undefined && !knownGateways.has(text)) {
    known = canonicalPrefix(`${text}/${text.includes(':') ? 128 : 32}`)?.family;
    if (knownGateways.size >= MAX_KNOWN_GATEWAYS) knownGateways.clear();
    knownGateways.set(text, known);
  }
  return known === family;
}

/** The last frozen next-hop list that passed, per family: a full table's routes share a handful of lists. */
const lastGoodHops: Record<4 | 6, KernelRoute['nextHops'] | undefined> = { 4: undefined, 6: undefined };

/**
 * Throws KernelRouteError naming the field unless `route` can be installed as given. Returns the
 * dst scanned as an IPv4 prefix (scanCanonicalIPv4Cidr: address * 64 + length), -1 for IPv6.
 */
export function checkKernelRoute(route: KernelRoute): number {
  const scanned = route.family === 4 ? scanCanonicalIPv4Cidr(route.dst) : -1;
  if (scanned < 0) checkDestination(route);
  // Only a frozen list (the speaker's, with frozen hops) cannot have changed since it passed.
  if (lastGoodHops[route.family] === route.nextHops) return scanned;
  checkNextHops(route);
  if (Object.isFrozen(route.nextHops) && route.nextHops.every(Object.isFrozen)) {
    lastGoodHops[route.family] = route.nextHops;
  }
  return scanned;
}

function checkDestination(route: KernelRoute): void {
  const dst = canonicalPrefix(route.dst);
  if (dst === undefined)
    throw new KernelRouteError(`route ${route.dst}: dst is not a prefix with host bits clear`);
  if (dst.family !== route.family) {
    throw new KernelRouteError(`route ${route.dst}: dst is not an IPv${route.family} prefix`);
  }
  // The kernel prints canonical text; a non-canonical key would never match its dump.
  if (dst.canonical !== route.dst) {
    throw new KernelRouteError(`route ${route.dst}: dst must be canonical (${dst.canonical})`);
  }
}

function checkNextHops(route: KernelRoute): void {
  if (route.nextHops.length === 0) throw new KernelRouteError(`route ${route.dst}: no next hop`);
  for (let i = 0; i < route.nextHops.length; i++) {
    const hop = route.nextHops[i]!;
    if (!isGateway(hop.gateway, route.family)) {
      throw new KernelRouteError(
        `route ${route.dst}: nextHops[${i}].gateway "${hop.gateway}" is not an IPv${route.family} address`,
      );
    }
    if (hop.ifindex !== undefined && !(Number.isInteger(hop.ifindex) && hop.ifindex > 0)) {
      throw new KernelRouteError(
        `route ${route.dst}: nextHops[${i}].ifindex ${hop.ifindex} is not a positive integer`,
      );
    }
    if (route.family === 6 && /^fe[89ab][0-9a-f]:/i.test(hop.gateway) && hop.ifindex === undefined) {
      throw new KernelRouteError(
        `route ${route.dst}: nextHops[${i}].gateway ${hop.gateway} is link-local and needs an ifindex`,
      );
    }
  }
}
