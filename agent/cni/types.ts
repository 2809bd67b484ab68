// The CNI contract between the protocol layer (which parses what the runtime sent) and the agent
// code that does the work (veth, IPAM). Results are version-neutral: the richest shape (spec
// 1.1.0); protocol.ts renders them for the version the runtime asked for.

/** Spec versions Trellis accepts in a network configuration, oldest first. */
export const SUPPORTED_CNI_VERSIONS = ['0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_CNI_VERSIONS)[number];

export const CNI_COMMANDS = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'] as const;
export type CniCommand = (typeof CNI_COMMANDS)[number];

export type CniLogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface TrellisIpamConfig {
  type: 'trellis-ipam';
  /** Pool names (IPPool objects) to allocate IPv4 from; absent: every eligible pool. */
  ipv4Pools?: string[];
  ipv6Pools?: string[];
  assignIPv4: boolean;
  assignIPv6: boolean;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** The plugin configuration object after validation, with defaults filled in. */
export interface TrellisNetConfig {
  cniVersion: CniVersion;
  name: string;
  type: 'trellis-cni';
  mtu: number;
  /** Where the shim connects; the agent listens on the path it is configured with. */
  agentSocket?: string;
  ipam: TrellisIpamConfig;
  logLevel?: CniLogLevel;
  dns?: CniDns;
  /** Injected by the runtime: capability arguments (portMappings, ips, mac, ...). */
  runtimeConfig?: Record<string, unknown>;
  /** Injected by the runtime: free-form arguments (e.g. Kubernetes labels). */
  args?: Record<string, unknown>;
}

export interface CniInterface {
  name: string;
  mac?: string;
  /** 1.1.0 and later. */
  mtu?: number;
  /** Netns path for interfaces inside the container; absent for host interfaces. */
  sandbox?: string;
  /** 1.1.0 and later. */
  socketPath?: string;
  /** 1.1.0 and later. */
  pciID?: string;
}

export interface CniIpConfig {
  /** CIDR notation: 10.244.1.7/32. */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
  /** The following are 1.1.0 and later. */
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface CniResult {
  interfaces: CniInterface[];
  ips: CniIpConfig[];
  routes: CniRoute[];
  dns?: CniDns;
}

/** What every request carries: the validated config and the runtime's plugin search path. */
export interface CniRequestBase {
  config: TrellisNetConfig;
  /** CNI_PATH split on ':'; empty when unset. */
  path: string[];
}

/** An attachment is identified by (containerId, ifName). */
export interface CniAttachmentRequest extends CniRequestBase {
  containerId: string;
  ifName: string;
  /** CNI_ARGS as key/value pairs (Kubernetes passes K8S_POD_NAMESPACE, K8S_POD_NAME, ...). */
  args: Record<string, string>;
}

export interface CniAddRequest extends CniAttachmentRequest {
  command: 'ADD';
  netns: string;
  /** Set only when Trellis is chained after another plugin. */
  prevResult?: CniResult;
}

export interface CniDelRequest extends CniAttachmentRequest {
  command: 'DEL';
  /** Optional for DEL: the namespace may already be gone. */
  netns?: string;
  /** The result of the ADD, when the runtime cached it. */
  prevResult?: CniResult;
}

export interface CniCheckRequest extends CniAttachmentRequest {
  command: 'CHECK';
  netns: string;
  prevResult: CniResult;
}

export interface CniStatusRequest extends CniRequestBase {
  command: 'STATUS';
}

export interface CniValidAttachment {
  containerId: string;
  ifName: string;
}

export interface CniGcRequest extends CniRequestBase {
  command: 'GC';
  /** Attachments that are still valid; everything else Trellis holds for this network is stale. */
  validAttachments: CniValidAttachment[];
}

export type CniRequest = CniAddRequest | CniDelRequest | CniCheckRequest | CniStatusRequest | CniGcRequest;

/**
 * Implemented by the agent. Throw `CniError` (agent/cni/errors.ts) to choose the CNI error code;
 * any other error becomes CNI_ERR_INTERNAL. `signal` aborts when the request times out or the
 * shim disconnects. The server runs requests concurrently: the handler does its own locking.
 * VERSION never reaches the handler.
 */
export interface CniHandler {
  add(req: CniAddRequest, signal: AbortSignal): Promise<CniResult>;
  del(req: CniDelRequest, signal: AbortSignal): Promise<void>;
  check(req: CniCheckRequest, signal: AbortSignal): Promise<void>;
  status(req: CniStatusRequest, signal: AbortSignal): Promise<void>;
  gc(req: CniGcRequest, signal: AbortSignal): Promise<void>;
}
