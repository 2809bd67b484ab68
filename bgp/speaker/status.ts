// What the control API reports: sessions and the RIB, in JSON-friendly shapes.

export interface PeerStatus {
  readonly name: string;
  readonly address: string;
  readonly as: number;
  /** RFC 4271 FSM state: Idle, Connect, Active, OpenSent, OpenConfirm, Established. */
  readonly state: string;
  /** Seconds since the session became Established; absent when it is not. */
  readonly uptimeSeconds?: number;
  readonly prefixesReceived: number;
  readonly prefixesAccepted: number;
  readonly prefixesAdvertised: number;
  readonly lastError?: string;
}

export interface PathStatus {
  readonly best: boolean;
  /** Part of the ECMP set installed with the best path. */
  readonly multipath: boolean;
  /** Peer name, or 'local' for our own announcements. */
  readonly from: string;
  readonly nextHop: string;
  readonly asPath: readonly number[];
  readonly origin: string;
  readonly localPref?: number;
  readonly med?: number;
  readonly communities: readonly string[];
  readonly largeCommunities: readonly string[];
  /** Kept from a restarting peer (graceful restart) until it re-sends or its timer fires. */
  readonly stale: boolean;
}

export interface RouteStatus {
  readonly prefix: string;
  readonly paths: readonly PathStatus[];
}

/** Kernel sync as the control API reports it (`trellis bgp kernel`). */
export type KernelStatus =
  | { readonly enabled: false }
  | {
      readonly enabled: true;
      readonly table: number;
      readonly metric: number;
      /** Best paths the RIB wants installed. */
      readonly desired: number;
      readonly installed: number;
      /** Installed, no longer wanted, kept until the RIB converges after a restart. */
      readonly stale: number;
      readonly pending: number;
      readonly failed: number;
      /** Routes kernel sync's own resyncs (periodic, or after a link came back) had to put back, change or remove. */
      readonly repaired: number;
      /** The refused prefixes and the kernel's reason (e.g. "ENETUNREACH"). */
      readonly failures: readonly { readonly prefix: string; readonly error: string }[];
    };
