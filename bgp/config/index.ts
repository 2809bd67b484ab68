// Speaker configuration: the standalone file and the agent's translation of BGP resources.
export { BgpConfigError } from './errors.js';
export type {
  AddressFamily,
  Announcement,
  NextHopMode,
  PeerConfig,
  PeerGracefulRestart,
  Policy,
  PolicyStatement,
  PrefixMatch,
  SpeakerConfig,
} from './model.js';
export { familyOf, loadSpeakerConfig, parseSpeakerConfig, validateSpeakerConfig } from './parse.js';
export {
  announcementsOf,
  type ClusterBgpResources,
  peerSelectsNode,
  speakerConfigFromCluster,
} from './translate.js';
