// Input checks for kernel routes, done before any state changes (bad input leaves no trace).
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

const CHAR_0 = 48;
const CHAR_DOT = 46;
const CHAR_SLASH = 47;

/**
 * True when `text` is an IPv4 prefix exactly as the kernel prints it (`10.1.2.0/24`: decimal
 * octets and length without leading zeros, host bits clear). A scan without allocation: a full
 * table checks 100k of these, and parsing each into a Prefix cost more than the RIB's work.
 * False says nothing about why: the caller's general path finds the precise error.
 */
export function isCanonicalIPv4Prefix(text: string): boolean {
  let at = 0;
  let address = 0;
  for (let part = 0; part < 5; part++) {
    const start = at;
    let value = 0;
    while (at < text.length) {
      const digit = text.charCodeAt(at) - CHAR_0;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
      at++;
    }
    const digits = at - start;
    if (digits === 0 || digits > 3 || (digits > 1 && text.charCodeAt(start) === CHAR_0)) return false;
    if (part < 4) {
      if (value > 255 || text.charCodeAt(at) !== (part < 3 ? CHAR_DOT : CHAR_SLASH)) return false;
      address = address * 256 + value;
      at++;
    } else {
      if (value > 32 || at !== text.length) return false;
      // 2 ** (32 - len) as a float: the host part's size, exact for every length 0..32.
      return address % 2 ** (32 - value) === 0;
    }
  }
  return false;
}

/** Throws KernelRouteError naming the field unless `route` can be installed as given. */
export function checkKernelRoute(route: KernelRoute): void {
  if (!(route.family === 4 && isCanonicalIPv4Prefix(route.dst))) checkDestination(route);
  checkNextHops(route);
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
