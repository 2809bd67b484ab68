// The OPEN exchange as pure functions: the OPEN we send for a configuration, and what a peer's
// OPEN means for the session (or the BgpError whose NOTIFICATION refuses it).
import {
  Afi,
  BgpError,
  type Capability,
  ErrorCode,
  type IpFamily,
  type OpenMessage,
  OpenSubcode,
  openAsField,
  peerAsn,
  Safi,
  unsupportedCapabilityError,
} from '../codec/index.js';
import type { CapabilityName, SessionConfig } from './config.js';
import type { Negotiated } from './consumer.js';

const AFI_OF: Record<IpFamily, number> = { ipv4: Afi.IPV4, ipv6: Afi.IPV6 };

function familyOf(afi: number, safi: number): IpFamily | undefined {
  if (safi !== Safi.UNICAST) return undefined;
  if (afi === Afi.IPV4) return 'ipv4';
  if (afi === Afi.IPV6) return 'ipv6';
  return undefined;
}

/** Our capabilities, in the order we advertise them. */
export function localCapabilities(config: SessionConfig): Capability[] {
  const caps = config.capabilities;
  const out: Capability[] = caps.families.map((f) => ({
    kind: 'multiprotocol',
    afi: AFI_OF[f],
    safi: Safi.UNICAST,
  }));
  if (caps.routeRefresh) out.push({ kind: 'route-refresh' });
  if (caps.enhancedRouteRefresh) out.push({ kind: 'enhanced-route-refresh' });
  if (caps.fourOctetAs) out.push({ kind: 'four-octet-as', asn: config.localAs });
  if (caps.extendedMessage) out.push({ kind: 'extended-message' });
  const gr = caps.gracefulRestart;
  if (gr !== undefined) {
    out.push({
      kind: 'graceful-restart',
      restarting: gr.restarting,
      notification: false,
      restartTime: gr.restartTime,
      families: caps.families.map((f) => ({
        afi: AFI_OF[f],
        safi: Safi.UNICAST,
        forwardingPreserved: gr.forwardingPreserved,
      })),
    });
  }
  return out;
}

export function buildOpen(config: SessionConfig): OpenMessage {
  return {
    type: 'open',
    myAs: openAsField(config.localAs),
    holdTime: config.holdTime,
    bgpId: config.routerId,
    capabilities: localCapabilities(config),
  };
}

function idValue(dotted: string): number {
  return dotted.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

/** One side of a collision: its BGP identifier and AS. */
export interface CollisionSide {
  readonly id: string;
  readonly as: number;
}

/**
 * RFC 4271 6.8: the connection to keep is the one initiated by the speaker with the higher BGP
 * identifier; with equal identifiers (eBGP may have them, RFC 6286 2.1) the one initiated by
 * the speaker with the larger AS number (RFC 6286 2.3). Returns which of ours to close.
 */
export function collisionLoser(local: CollisionSide, peer: CollisionSide): 'outbound' | 'inbound' {
  const ours = idValue(local.id);
  const theirs = idValue(peer.id);
  const weWin = ours !== theirs ? ours > theirs : local.as > peer.as;
  return weWin ? 'inbound' : 'outbound';
}

export interface ConnectionEnds {
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/**
 * Checks the peer's OPEN against the configuration. Throws BgpError (2/2, 2/3, 2/7) to refuse it.
 * 2/7 when a `required` capability is missing, and always when the configured peer AS needs four
 * octets and the OPEN has no four-octet AS capability.
 */
export function negotiate(config: SessionConfig, open: OpenMessage, ends: ConnectionEnds): Negotiated {
  const peer = open.capabilities;
  const has = (kind: Capability['kind']): boolean => peer.some((c) => c.kind === kind);
  // RFC 6793 4.1: an AS above 65535 exists only in the four-octet AS capability, so a peer
  // configured with one must send it. 2/7 (asking for it) says what is wrong; 2/2 would not.
  if (config.peerAs > 0xffff && !has('four-octet-as')) {
    throw unsupportedCapabilityError(localCapabilities(config).filter((c) => c.kind === 'four-octet-as'));
  }
  const peerAs = peerAsn(open);
  if (peerAs !== config.peerAs) {
    const data = Buffer.alloc(2);
    data.writeUInt16BE(open.myAs);
    throw new BgpError(
      ErrorCode.OPEN_MESSAGE,
      OpenSubcode.BAD_PEER_AS,
      data,
      `peer AS ${peerAs}, expected ${config.peerAs}`,
    );
  }
  // RFC 6286 2.1: identifiers must differ within an AS; between ASes they may coincide.
  if (open.bgpId === config.routerId && config.peerAs === config.localAs) {
    throw new BgpError(
      ErrorCode.OPEN_MESSAGE,
      OpenSubcode.BAD_BGP_IDENTIFIER,
      Buffer.alloc(0),
      `peer BGP identifier ${open.bgpId} is our own`,
    );
  }
  const peerFamilies = new Set<IpFamily>();
  for (const c of peer) {
    if (c.kind !== 'multiprotocol') continue;
    const f = familyOf(c.afi, c.safi);
    if (f !== undefined) peerFamilies.add(f);
  }
  // RFC 4760 8: a speaker without the multiprotocol capability does IPv4 unicast only.
  if (!has('multiprotocol')) peerFamilies.add('ipv4');
  const missing = missingRequired(config, peerFamilies, has);
  if (missing.length > 0) {
    const wanted = localCapabilities(config).filter((c) => missing.some((m) => capabilityMatches(m, c)));
    throw unsupportedCapabilityError(wanted);
  }
  const caps = config.capabilities;
  const holdTime =
    config.holdTime === 0 || open.holdTime === 0 ? 0 : Math.min(config.holdTime, open.holdTime);
  const keepaliveTime =
    holdTime === 0 ? 0 : Math.min(config.keepaliveTime ?? holdTime, Math.floor(holdTime / 3));
  const fourOctetAs = caps.fourOctetAs && has('four-octet-as');
  const families = caps.families.filter((f) => peerFamilies.has(f));
  const peerGr = peer.find((c) => c.kind === 'graceful-restart');
  const negotiated: Negotiated = {
    peerAs,
    peerRouterId: open.bgpId,
    holdTime,
    keepaliveTime,
    codec: {
      fourOctetAs,
      extendedMessage: caps.extendedMessage && has('extended-message'),
      internalPeer: peerAs === config.localAs,
    },
    families,
    routeRefresh: caps.routeRefresh && has('route-refresh'),
    enhancedRouteRefresh: caps.enhancedRouteRefresh && has('enhanced-route-refresh'),
    peerCapabilities: peer,
    ...ends,
  };
  if (caps.gracefulRestart === undefined || peerGr === undefined) return negotiated;
  return {
    ...negotiated,
    gracefulRestart: {
      peerRestarting: peerGr.restarting,
      peerRestartTime: peerGr.restartTime,
      peerNotification: peerGr.notification,
      families: peerGr.families.flatMap((f) => {
        const family = familyOf(f.afi, f.safi);
        return family !== undefined && families.includes(family)
          ? [{ family, forwardingPreserved: f.forwardingPreserved }]
          : [];
      }),
    },
  };
}

function missingRequired(
  config: SessionConfig,
  peerFamilies: ReadonlySet<IpFamily>,
  has: (kind: Capability['kind']) => boolean,
): CapabilityName[] {
  return config.capabilities.required.filter((name) => {
    switch (name) {
      case 'multiprotocol-ipv4':
        return !peerFamilies.has('ipv4');
      case 'multiprotocol-ipv6':
        return !peerFamilies.has('ipv6');
      default:
        return !has(name);
    }
  });
}

function capabilityMatches(name: CapabilityName, cap: Capability): boolean {
  if (cap.kind === 'multiprotocol') return name === `multiprotocol-${familyOf(cap.afi, cap.safi)}`;
  return name === cap.kind;
}
