// The agent's speaker configuration from the datastore's BGP resources, tolerant of bad peers:
// a BGPPeer that cannot be translated (its password unreadable, a setting the speaker refuses)
// is left out and named, so one bad object never takes this node's other sessions down.
import {
  BgpConfigError,
  type ClusterBgpResources,
  type SpeakerConfig,
  speakerConfigFromCluster,
} from '../../bgp/config/index.js';
import type { BGPPeer } from '../../src/resources/index.js';

/** A BGPPeer's TCP-MD5 password as read from its file or Secret, or why it could not be. */
export type PasswordOutcome = { readonly password: string } | { readonly error: string };

export interface SkippedPeer {
  /** The BGPPeer's name. */
  readonly peer: string;
  /** What is wrong, naming the field. */
  readonly error: string;
}

export interface ClusterTranslation {
  readonly config: SpeakerConfig;
  readonly skipped: readonly SkippedPeer[];
}

/**
 * speakerConfigFromCluster without the BGPPeers that fail. `passwords` holds the outcome for
 * every peer with a password that selects this node. An error no single BGPPeer explains (no
 * TrellisNode for this node) is thrown as the BgpConfigError it is.
 */
export function translateCluster(
  res: Omit<ClusterBgpResources, 'resolvePassword'>,
  passwords: ReadonlyMap<string, PasswordOutcome>,
): ClusterTranslation {
  const skipped: SkippedPeer[] = [];
  const readable = res.peers.filter((p) => {
    const outcome = passwords.get(p.metadata.name);
    if (outcome === undefined || !('error' in outcome)) return true;
    skipped.push({ peer: p.metadata.name, error: outcome.error });
    return false;
  });
  const translate = (peers: readonly BGPPeer[]): SpeakerConfig =>
    speakerConfigFromCluster({
      ...res,
      peers,
      resolvePassword: (_password, peer) => {
        const outcome = passwords.get(peer.metadata.name);
        if (outcome !== undefined && 'password' in outcome) return outcome.password;
        throw new BgpConfigError('cluster resources', [
          { path: `BGPPeer/${peer.metadata.name}.spec.password`, message: 'was not read' },
        ]);
      },
    });
  try {
    return { config: translate(readable), skipped };
  } catch (err) {
    if (!(err instanceof BgpConfigError)) throw err;
  }
  // Something is wrong. Without any BGPPeer it still fails: not a peer's fault, thrown from here.
  translate([]);
  // Else find the peers that fail on their own (few peers; this is the rare path).
  const good: BGPPeer[] = [];
  for (const peer of readable) {
    try {
      translate([peer]);
      good.push(peer);
    } catch (err) {
      if (!(err instanceof BgpConfigError)) throw err;
      skipped.push({ peer: peer.metadata.name, error: err.message });
    }
  }
  return { config: translate(good), skipped };
}
