// The agent's speaker configuration, derived from the datastore's BGP resources for one node.
//
// Node-to-node mesh (BGPConfiguration.nodeToNodeMesh, default on): every other TrellisNode is a
// peer, one session per address family both nodes have. Of each pair, the node with the lower
// address is passive and the higher one dials: exactly one side connects, so the pair never
// needs collision detection to settle and never races two connections at start-up.
// BGPPeer resources add ToR/global peers for the nodes they select (`node`, `nodeSelector`, or
// every node); one naming an address the mesh already peers with replaces that mesh peer.
// A node with its own asNumber is in its own AS, so its sessions are eBGP (per-rack ASNs).
// A node with routeReflectorClusterID reflects: its peers that are non-reflector nodes are
// its clients.
import { createHash } from 'node:crypto';
import { selectorMatches } from '../../policy/selector.js';
import { IPAddress, Prefix, parseInterfaceAddress } from '../../src/net/index.js';
import type { BGPConfigurationSpec, CommunityAdvertisement } from '../../src/resources/bgpconfiguration.js';
import type { BGPPeer, PeerPassword } from '../../src/resources/bgppeer.js';
import type { IPAMBlock } from '../../src/resources/ipamblock.js';
import type { TrellisNode } from '../../src/resources/trellisnode.js';
import { BgpConfigError } from './errors.js';
import type { AddressFamily, SpeakerConfig } from './model.js';
import { validateSpeakerConfig } from './parse.js';

export interface ClusterBgpResources {
  /** The node this speaker runs on (a TrellisNode name). */
  readonly nodeName: string;
  /** The BGPConfiguration named "default"; absent: its defaults. */
  readonly configuration?: BGPConfigurationSpec;
  readonly nodes: readonly TrellisNode[];
  readonly peers: readonly BGPPeer[];
  readonly blocks: readonly IPAMBlock[];
  /** Reads a BGPPeer's TCP-MD5 password (Secret or file); required when any selected peer has one. */
  readonly resolvePassword?: (password: PeerPassword, peer: BGPPeer) => string;
  readonly kernel?: SpeakerConfig['kernel'];
  readonly controlSocket?: string;
}

const DEFAULT_CONFIGURATION: BGPConfigurationSpec = {
  asNumber: 64512,
  nodeToNodeMesh: true,
  listenPort: 179,
  gracefulRestartTime: 120,
  keepaliveTime: 30,
  holdTime: 90,
};

interface NodeAddresses {
  readonly ipv4?: IPAddress;
  readonly ipv6?: IPAddress;
}

function addressesOf(node: TrellisNode): NodeAddresses {
  const { ipv4, ipv6 } = node.spec.addresses;
  return {
    ...(ipv4 === undefined ? {} : { ipv4: parseInterfaceAddress(ipv4).address }),
    ...(ipv6 === undefined ? {} : { ipv6: parseInterfaceAddress(ipv6).address }),
  };
}

/** The node's IPv4 address, or for IPv6-only nodes a stable id hashed from the node name. */
function routerIdOf(node: TrellisNode, addresses: NodeAddresses): string {
  if (addresses.ipv4 !== undefined) return addresses.ipv4.toString();
  const h = createHash('sha256').update(node.metadata.name).digest();
  return `${h[0]! | 1}.${h[1]}.${h[2]}.${h[3]}`;
}

/** Translates the cluster's resources into this node's SpeakerConfig (validated). */
export function speakerConfigFromCluster(res: ClusterBgpResources): SpeakerConfig {
  const cfg = { ...DEFAULT_CONFIGURATION, ...res.configuration };
  const self = res.nodes.find((n) => n.metadata.name === res.nodeName);
  if (self === undefined) {
    throw new BgpConfigError('cluster resources', [
      { path: `TrellisNode/${res.nodeName}`, message: 'no TrellisNode for this node' },
    ]);
  }
  const mine = addressesOf(self);
  const localAs = self.spec.asNumber ?? cfg.asNumber;
  const reflector = self.spec.routeReflectorClusterID !== undefined;
  const timers = {
    holdTime: cfg.holdTime,
    keepaliveTime: cfg.keepaliveTime,
    gracefulRestart: { enabled: cfg.gracefulRestartTime > 0, restartTime: cfg.gracefulRestartTime },
  };
  const nodeByAddress = new Map<string, TrellisNode>();
  for (const node of res.nodes) {
    const a = addressesOf(node);
    if (a.ipv4 !== undefined) nodeByAddress.set(a.ipv4.toString(), node);
    if (a.ipv6 !== undefined) nodeByAddress.set(a.ipv6.toString(), node);
  }
  const isClient = (address: string): boolean => {
    const node = nodeByAddress.get(address);
    return reflector && node !== undefined && node.spec.routeReflectorClusterID === undefined;
  };

  const peers = new Map<string, Record<string, unknown>>();
  if (cfg.nodeToNodeMesh) {
    for (const node of res.nodes) {
      if (node.metadata.name === res.nodeName) continue;
      const theirs = addressesOf(node);
      for (const family of ['ipv4', 'ipv6'] as AddressFamily[]) {
        const ours = mine[family];
        const their = theirs[family];
        if (ours === undefined || their === undefined) continue;
        const address = their.toString();
        peers.set(address, {
          name: `${node.metadata.name}-${family}`,
          address,
          as: node.spec.asNumber ?? cfg.asNumber,
          passive: ours.value < their.value,
          families: [family],
          routeReflectorClient: isClient(address),
          ...timers,
        });
      }
    }
  }
  for (const peer of res.peers) {
    if (!peerSelectsNode(peer, self)) continue;
    const address = IPAddress.parse(peer.spec.peerIP).toString();
    if (address === mine.ipv4?.toString() || address === mine.ipv6?.toString()) continue;
    const s = peer.spec;
    const password = s.password === undefined ? undefined : passwordOf(s.password, peer, res.resolvePassword);
    peers.set(address, {
      name: peer.metadata.name,
      address,
      port: s.port,
      as: s.asNumber,
      holdTime: s.holdTime ?? cfg.holdTime,
      keepaliveTime: s.keepaliveTime ?? cfg.keepaliveTime,
      gracefulRestart: s.gracefulRestart ?? timers.gracefulRestart,
      nextHop: s.nextHopMode.toLowerCase(),
      routeReflectorClient: s.routeReflectorClient || isClient(address),
      ...(password === undefined ? {} : { password }),
      ...(s.sourceAddress === undefined ? {} : { sourceAddress: s.sourceAddress }),
    });
  }

  const raw = {
    routerId: routerIdOf(self, mine),
    localAs,
    listen: { address: '::', port: cfg.listenPort },
    ...(reflector ? { clusterId: self.spec.routeReflectorClusterID } : {}),
    gracefulRestartTime: cfg.gracefulRestartTime,
    peers: [...peers.values()],
    announcements: announcementsOf(res.nodeName, res.blocks, cfg.serviceCIDRs ?? [], cfg.communities ?? []),
    ...(res.kernel === undefined ? {} : { kernel: res.kernel }),
    ...(res.controlSocket === undefined ? {} : { controlSocket: res.controlSocket }),
  };
  return validateSpeakerConfig(raw, 'cluster resources');
}

/** The BGPPeer applies to `node`: named by `node`, matched by `nodeSelector`, or neither given. */
export function peerSelectsNode(peer: BGPPeer, node: TrellisNode): boolean {
  if (peer.spec.node !== undefined) return peer.spec.node === node.metadata.name;
  if (peer.spec.nodeSelector !== undefined) {
    return selectorMatches(peer.spec.nodeSelector, node.metadata.labels ?? {});
  }
  return true;
}

function passwordOf(
  password: PeerPassword,
  peer: BGPPeer,
  resolve: ClusterBgpResources['resolvePassword'],
): string {
  if (resolve === undefined) {
    throw new BgpConfigError('cluster resources', [
      {
        path: `BGPPeer/${peer.metadata.name}.spec.password`,
        message: 'set, but no password resolver was given',
      },
    ]);
  }
  return resolve(password, peer);
}

/**
 * What the node announces: its affine blocks, the /32s (/128s) it borrowed from other nodes'
 * blocks, and the service CIDRs; communities from BGPConfiguration.communities whose prefix
 * (if any) contains the route.
 */
export function announcementsOf(
  nodeName: string,
  blocks: readonly IPAMBlock[],
  serviceCIDRs: readonly string[],
  communities: readonly CommunityAdvertisement[],
): { prefix: string; communities: string[]; largeCommunities: string[] }[] {
  const prefixes = new Map<string, Prefix>();
  const add = (p: Prefix): void => {
    prefixes.set(p.toString(), p);
  };
  for (const block of blocks) {
    const cidr = Prefix.parse(block.spec.cidr, { hostBits: 'mask' });
    if (block.spec.affinity === nodeName) {
      add(cidr);
      continue;
    }
    for (const a of block.spec.allocations) {
      if (a.attributes?.node === nodeName) add(Prefix.of(cidr.addressAt(a.ordinal), cidr.bits));
    }
  }
  for (const cidr of serviceCIDRs) add(Prefix.parse(cidr, { hostBits: 'mask' }));
  return [...prefixes.values()].map((p) => {
    const applying = communities.filter(
      (c) => c.prefix === undefined || Prefix.parse(c.prefix, { hostBits: 'mask' }).contains(p),
    );
    return {
      prefix: p.toString(),
      communities: [...new Set(applying.flatMap((c) => c.standard ?? []))],
      largeCommunities: [...new Set(applying.flatMap((c) => c.large ?? []))],
    };
  });
}
