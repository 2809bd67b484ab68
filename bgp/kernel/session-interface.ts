// The interface a BGP session runs over, found from the session's local address: IPv6
// link-local next hops are only meaningful together with it (RFC 2545 3, RFC 4291 2.5.6).
import { normalizeAddress, parseAddress, parseInterfaceAddress } from '../../src/net/index.js';
import { type AddressInfo, RouteNetlink } from '../../src/netlink/index.js';

export interface SessionInterface {
  /** Interface holding the session's local address. */
  readonly ifindex: number;
  /**
   * Our IPv6 link-local address on that interface, set only when the peer's address is on the
   * same subnet as ours: the link-local next hop is then one the peer can reach directly.
   */
  readonly linkLocal?: string;
}

const isIPv6LinkLocal = (a: AddressInfo): boolean => a.family === 6 && a.scope === 'link';

/** Pure: the interface of `localAddress` among `addresses` (a netlink dump), or undefined. */
export function sessionInterfaceOf(
  addresses: readonly AddressInfo[],
  localAddress: string,
  peerAddress: string,
): SessionInterface | undefined {
  const local = normalizeAddress(localAddress);
  const own = addresses.find((a) => normalizeAddress(a.address) === local);
  if (own === undefined) return undefined;
  const onLink = parseInterfaceAddress(`${own.address}/${own.prefixLen}`).prefix.contains(
    parseAddress(peerAddress),
  );
  const linkLocal = onLink
    ? addresses.find((a) => a.ifindex === own.ifindex && isIPv6LinkLocal(a))?.address
    : undefined;
  return linkLocal === undefined ? { ifindex: own.ifindex } : { ifindex: own.ifindex, linkLocal };
}

/** Dumps the addresses of the namespace (`netns`, default ours) and finds the session's interface. */
export function findSessionInterface(
  localAddress: string,
  peerAddress: string,
  netns?: string,
): SessionInterface | undefined {
  const netlink = RouteNetlink.open(netns === undefined ? {} : { netnsPath: netns });
  try {
    return sessionInterfaceOf(netlink.listAddresses(), localAddress, peerAddress);
  } finally {
    netlink.close();
  }
}
