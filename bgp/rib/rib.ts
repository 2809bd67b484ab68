// The RIB: Adj-RIB-In per peer (pre- and post-policy), the Loc-RIB with incremental best-path
// and ECMP selection, and an Adj-RIB-Out per established peer. No I/O: sessions hand it decoded
// UPDATEs and pull what to send; the speaker listens to Loc-RIB changes for the kernel.

import { ipv4PrefixKey, type PrefixKey, PrefixKeyedMap, parseIPv4Number } from '../../src/net/index.js';
import {
  type DecodedUpdate,
  endOfRibFamily,
  formatPrefix,
  type IpFamily,
  type PathAttribute,
  type Prefix,
  parsePrefix,
  routeChanges,
} from '../codec/index.js';
import { evaluatePolicy, type RoutePolicy } from '../policy/index.js';
import { covers } from '../policy/prefix-match.js';
import type { LocalRoute } from '../speaker/ports.js';
import type { RouteStatus } from '../speaker/status.js';
import { AdjRibOut, type OutboundBatch } from './adj-rib-out.js';
import { fromCodecAttributes, type NextHops } from './codec.js';
import { compareAddresses, type DecisionOptions, selectPaths } from './decision.js';
import { RibError } from './errors.js';
import type { NextHopMode, SessionAddresses } from './export.js';
import { type ImportRefusal, importRefusal, withoutExternalOnlyAttrs } from './import.js';
import { type Path, type PathAttrs, type PeerRef, samePath } from './path.js';
import { routeStatus } from './status.js';

export interface RibOptions {
  readonly routerId: string;
  readonly localAs: number;
  /** Route reflector cluster id (RFC 4456); absent: we do not reflect. */
  readonly clusterId?: string;
  /** Largest ECMP set (default 8); 1 disables multipath. */
  readonly maxPaths?: number;
  readonly multipathRelax?: boolean;
  readonly alwaysCompareMed?: boolean;
  /**
   * RFC 8212: an eBGP peer without an import (export) policy has everything rejected on import
   * (export). Default off: node blocks must flow between per-rack ASes with zero configuration.
   */
  readonly ebgpRequiresPolicy?: boolean;
  readonly policies?: ReadonlyMap<string, RoutePolicy>;
}

export interface PeerSettings {
  /** Unique peer name (the speaker's `PeerConfig.name`). */
  readonly id: string;
  readonly address: string;
  readonly asn: number;
  /** The AS we present to this peer, when not our own (eBGP "local-as"). */
  readonly localAs?: number;
  readonly rrClient?: boolean;
  readonly nextHopMode?: NextHopMode;
  readonly importPolicy?: string;
  readonly exportPolicy?: string;
  /** Accept paths containing our AS up to this many times (default 0). */
  readonly allowOwnAs?: number;
  /** Do not send paths containing the eBGP peer's AS (default true). */
  readonly senderSideLoopCheck?: boolean;
  /** Pass MEDs learned from other ASes to this eBGP peer (default false, RFC 4271 5.1.4). */
  readonly sendMed?: boolean;
}

/** What an established session tells the RIB. */
export interface SessionInfo {
  /** The peer's BGP identifier from its OPEN. */
  readonly routerId: string;
  /** Families negotiated on the session. */
  readonly families: readonly IpFamily[];
  /** Our next hop(s) on this session per family (next-hop-self). */
  readonly addresses: SessionAddresses;
  /** Interface of the session, for the peer's IPv6 link-local next hops. */
  readonly ifindex?: number;
}

export interface ReceivedRoute {
  /** As received (pre-policy): `routes --received`. */
  readonly received: Path;
  /** After import policy; absent when rejected. */
  readonly accepted?: Path;
  readonly rejection?: ImportRefusal;
}

export interface ReceiveResult {
  readonly announced: number;
  readonly withdrawn: number;
  /** Announced but not accepted (loop, policy). */
  readonly rejected: number;
  /** Set when the UPDATE was an End-of-RIB marker (stale paths of the family were swept). */
  readonly endOfRib?: IpFamily;
}

/** A best-path or ECMP change of one prefix. `paths` is the ECMP set, best first; empty: no route left. */
export interface LocRibChange {
  readonly prefix: Prefix;
  /** Canonical prefix text (`formatPrefix`): the RIB's key, shared so consumers need not rebuild it. */
  readonly key: string;
  readonly best?: Path;
  readonly paths: readonly Path[];
  readonly previousBest?: Path;
}

export interface PeerCounts {
  readonly received: number;
  readonly accepted: number;
  readonly advertised: number;
}

/**
 * One prefix: every peer's Adj-RIB-In entry for it and the Loc-RIB's choice. The Adj-RIB-In
 * lives here rather than in a map per peer: a full table then costs one map entry per prefix,
 * and per-peer work (session down, sweep, policy change) walks the destinations instead.
 */
interface Destination {
  readonly prefix: Prefix;
  readonly key: string;
  /**
   * At most one entry per source (a peer, or our own route): the entry itself when there is one
   * (most prefixes; no array to keep), else an array replaced on change, never changed in place.
   */
  inbound: Inbound;
  best?: Path;
  /** The ECMP set when it holds more than the best path. */
  wider?: readonly Path[];
}

type Inbound = AdjInEntry | readonly AdjInEntry[];

interface Peer {
  readonly settings: PeerSettings;
  readonly type: 'ibgp' | 'ebgp';
  readonly localAs: number;
  /** Adj-RIB-In sizes: entries, and those accepted. */
  received: number;
  accepted: number;
  /** Set while established. */
  session?: { readonly ref: PeerRef; readonly out: AdjRibOut; readonly notify: () => void };
  /** PeerRef of the last session, for stale paths that outlive it. */
  ref?: PeerRef;
}

const LOCAL_ID = 'local';

export class Rib {
  readonly #opts: RibOptions;
  readonly #decision: DecisionOptions;
  #policies: ReadonlyMap<string, RoutePolicy>;
  readonly #peers = new Map<string, Peer>();
  /** Every prefix with an Adj-RIB-In entry, by ribKey; those with candidate paths are the Loc-RIB. */
  readonly #loc = new PrefixKeyedMap<Destination>();
  /** Destinations with at least one candidate path: the Loc-RIB's size. */
  #routed = 0;
  readonly #local = new Map<string, Path>();
  readonly #localRef: PeerRef;
  readonly #listeners: ((change: LocRibChange) => void)[] = [];
  /** Peers whose Adj-RIB-Out gained changes during the current operation. */
  readonly #dirty = new Set<Peer>();
  #seq = 0;

  constructor(opts: RibOptions) {
    const maxPaths = opts.maxPaths ?? 8;
    if (!Number.isInteger(maxPaths) || maxPaths < 1) {
      throw new RibError('options.maxPaths', `must be a positive integer (got ${maxPaths})`);
    }
    if (!Number.isInteger(opts.localAs) || opts.localAs < 1 || opts.localAs > 0xffffffff) {
      throw new RibError('options.localAs', `${opts.localAs} is not an AS number`);
    }
    this.#opts = opts;
    this.#decision = {
      localAs: opts.localAs,
      maxPaths,
      multipathRelax: opts.multipathRelax ?? false,
      alwaysCompareMed: opts.alwaysCompareMed ?? false,
    };
    this.#policies = opts.policies ?? new Map();
    this.#localRef = {
      id: LOCAL_ID,
      address: opts.routerId,
      routerId: opts.routerId,
      asn: opts.localAs,
      type: 'local',
      rrClient: false,
    };
  }

  onChange(listener: (change: LocRibChange) => void): void {
    this.#listeners.push(listener);
  }

  // ---- peers ---------------------------------------------------------------------------------

  addPeer(settings: PeerSettings): void {
    if (settings.id === '' || settings.id === LOCAL_ID) {
      throw new RibError('peer.id', `"${settings.id}" is reserved or empty`);
    }
    if (this.#peers.has(settings.id)) throw new RibError('peer.id', `peer "${settings.id}" exists already`);
    for (const key of ['importPolicy', 'exportPolicy'] as const) {
      const name = settings[key];
      if (name !== undefined && !this.#policies.has(name)) {
        throw new RibError(`peer.${key}`, `no policy named "${name}"`);
      }
    }
    const allow = settings.allowOwnAs ?? 0;
    if (!Number.isInteger(allow) || allow < 0) {
      throw new RibError('peer.allowOwnAs', `must be a non-negative integer (got ${allow})`);
    }
    const localAs = settings.localAs ?? this.#opts.localAs;
    this.#peers.set(settings.id, {
      settings,
      type: settings.asn === localAs ? 'ibgp' : 'ebgp',
      localAs,
      received: 0,
      accepted: 0,
    });
  }

  /** Forgets a peer: its paths leave the Loc-RIB now (stale or not). */
  removePeer(id: string): void {
    const peer = this.#peer(id);
    this.#peers.delete(id);
    for (const [d] of this.#entriesOf(id)) this.#setEntry(d.prefix, peer, id, undefined);
    this.#notifyDirty();
  }

  /** The session is established: start its Adj-RIB-Out with the whole Loc-RIB (End-of-RIB follows). */
  peerUp(id: string, session: SessionInfo, notify: () => void): void {
    const peer = this.#peer(id);
    if (peer.session !== undefined) throw new RibError('peer', `"${id}" is up already`);
    const ref: PeerRef = {
      id,
      address: peer.settings.address,
      routerId: session.routerId,
      asn: peer.settings.asn,
      type: peer.type,
      rrClient: peer.settings.rrClient ?? false,
      ...(session.ifindex === undefined ? {} : { ifindex: session.ifindex }),
    };
    const exportPolicy = this.#policyOf(peer.settings.exportPolicy);
    const out = new AdjRibOut({
      target: {
        peer: ref,
        localAs: peer.localAs,
        ...(this.#opts.clusterId === undefined ? {} : { clusterId: this.#opts.clusterId }),
        nextHopMode: peer.settings.nextHopMode ?? 'auto',
        sendMed: peer.settings.sendMed ?? false,
        senderSideLoopCheck: peer.settings.senderSideLoopCheck ?? true,
      },
      addresses: session.addresses,
      families: session.families,
      ...(exportPolicy === undefined ? {} : { policy: exportPolicy }),
      denyWithoutPolicy: this.#opts.ebgpRequiresPolicy ?? false,
    });
    peer.session = { ref, out, notify };
    peer.ref = ref;
    for (const d of this.#loc.values()) {
      if (d.best !== undefined) out.update(d.key, d.prefix, d.best);
    }
    notify();
  }

  /**
   * The session went down. Paths of `staleFamilies` (graceful restart negotiated for them, RFC
   * 4724 4.2) stay in the Loc-RIB marked stale until re-learned or swept; the rest leave now.
   */
  peerDown(id: string, staleFamilies: readonly IpFamily[] = []): void {
    const peer = this.#peer(id);
    peer.session = undefined;
    this.#dirty.delete(peer);
    for (const [d, entry] of this.#entriesOf(id)) {
      const kept = staleFamilies.includes(d.prefix.family) ? markStale(entry) : undefined;
      this.#setEntry(d.prefix, peer, id, kept);
    }
    this.#notifyDirty();
  }

  /** Removes the peer's remaining stale paths (of one family, or all): End-of-RIB or restart timer. */
  sweepStale(id: string, family?: IpFamily): number {
    const peer = this.#peer(id);
    let swept = 0;
    for (const [d, entry] of this.#entriesOf(id)) {
      if (!receivedOf(entry).stale || (family !== undefined && d.prefix.family !== family)) continue;
      swept++;
      this.#setEntry(d.prefix, peer, id, undefined);
    }
    this.#notifyDirty();
    return swept;
  }

  // ---- routes in -----------------------------------------------------------------------------

  /**
   * One UPDATE from an established peer, RFC 7606 verdict applied (treat-as-withdraw withdraws).
   * Throws RibError, changing nothing, for an unknown or down peer or attributes the codec
   * would never have passed (no ORIGIN/AS_PATH).
   */
  receive(id: string, update: DecodedUpdate): ReceiveResult {
    const peer = this.#peer(id);
    const session = peer.session;
    if (session === undefined) throw new RibError('peer', `"${id}" is not established`);
    const eor = endOfRibFamily(update);
    if (eor !== undefined) {
      this.sweepStale(id, eor);
      return { announced: 0, withdrawn: 0, rejected: 0, endOfRib: eor };
    }
    const { announced, withdrawn } = routeChanges(update);
    const received =
      announced.length > 0 ? fromCodecAttributes(update.attributes, `update from ${id}`) : undefined;
    for (const prefix of withdrawn) this.#setEntry(prefix, peer, id, undefined);
    let rejected = 0;
    if (received !== undefined) {
      const attrs = peer.type === 'ebgp' ? withoutExternalOnlyAttrs(received.attrs) : received.attrs;
      const refusal = importRefusal(attrs, {
        localAs: [this.#opts.localAs, peer.localAs],
        allowOwnAs: peer.settings.allowOwnAs ?? 0,
        routerId: this.#opts.routerId,
        ...(this.#opts.clusterId === undefined ? {} : { clusterId: this.#opts.clusterId }),
      });
      for (const prefix of announced) {
        const hops = received.nextHops[prefix.family];
        const route = this.#import(peer, session.ref, prefix, attrs, hops, refusal);
        if (route.accepted === undefined) rejected++;
        this.#setEntry(prefix, peer, id, compact(route));
      }
    }
    this.#notifyDirty();
    return { announced: announced.length, withdrawn: withdrawn.length, rejected };
  }

  #import(
    peer: Peer,
    ref: PeerRef,
    prefix: Prefix,
    attrs: PathAttrs,
    hops: NextHops | undefined,
    refusal: ImportRefusal | undefined,
  ): ReceivedRoute {
    const linkLocal = hops?.linkLocalNextHop;
    // One object shape for every path (absent fields as undefined) keeps property access monomorphic.
    const received: Path = {
      prefix,
      nextHop: hops?.nextHop,
      linkLocalNextHop: linkLocal,
      ifindex: linkLocal === undefined ? undefined : ref.ifindex,
      attrs,
      source: ref,
      stale: false,
      receivedAt: ++this.#seq,
    };
    if (hops === undefined) return { received, rejection: 'no-next-hop' };
    if (refusal !== undefined) return { received, rejection: refusal };
    const policy = this.#policyOf(peer.settings.importPolicy);
    if (policy === undefined) {
      if (peer.type === 'ebgp' && this.#opts.ebgpRequiresPolicy) return { received, rejection: 'no-policy' };
      return { received, accepted: received };
    }
    const verdict = evaluatePolicy(policy, prefix, attrs, { prependAs: peer.settings.asn });
    if (!verdict.accepted) return { received, rejection: 'policy' };
    if (verdict.attrs === attrs && !verdict.nextHopSelf) return { received, accepted: received };
    const selfHop = verdict.nextHopSelf && addressFamily(ref.address) === prefix.family;
    if (!selfHop) return { received, accepted: { ...received, attrs: verdict.attrs } };
    const { linkLocalNextHop: _ll, ifindex: _if, ...rest } = received;
    return { received, accepted: { ...rest, attrs: verdict.attrs, nextHop: ref.address } };
  }

  /** Our own routes, as a whole: the difference to the previous set is announced and withdrawn. */
  setLocalRoutes(routes: readonly LocalRoute[]): void {
    const next = new Map<string, Path>();
    // Routes sharing one attribute list (the speaker's announcements do) are checked and
    // converted once: per route, that was most of the time for 100k announcements.
    const converted = new Map<readonly PathAttribute[], PathAttrs>();
    routes.forEach((r, i) => {
      let attrs = converted.get(r.attributes);
      if (attrs === undefined) {
        attrs = localAttrs(r.attributes, `localRoutes[${i}].attributes`);
        converted.set(r.attributes, attrs);
      }
      const key = formatPrefix(r.prefix);
      if (next.has(key)) throw new RibError(`localRoutes[${i}].prefix`, `${key} is listed twice`);
      const old = this.#local.get(key);
      next.set(
        key,
        old?.attrs === attrs
          ? old
          : { prefix: r.prefix, attrs, source: this.#localRef, stale: false, receivedAt: ++this.#seq },
      );
    });
    for (const [key, old] of this.#local) {
      if (!next.has(key)) this.#setEntry(old.prefix, undefined, LOCAL_ID, undefined);
    }
    for (const [key, path] of next) {
      if (this.#local.get(key) !== path) this.#setEntry(path.prefix, undefined, LOCAL_ID, path);
    }
    this.#local.clear();
    for (const [key, path] of next) this.#local.set(key, path);
    this.#notifyDirty();
  }

  /** New policy definitions: every peer's routes are re-imported from the pre-policy view and re-exported. */
  setPolicies(policies: ReadonlyMap<string, RoutePolicy>): void {
    for (const peer of this.#peers.values()) {
      for (const key of ['importPolicy', 'exportPolicy'] as const) {
        const name = peer.settings[key];
        if (name !== undefined && !policies.has(name)) {
          throw new RibError(`peers.${peer.settings.id}.${key}`, `no policy named "${name}"`);
        }
      }
    }
    this.#policies = policies;
    for (const peer of this.#peers.values()) {
      const id = peer.settings.id;
      for (const [d, entry] of this.#entriesOf(id)) {
        const received = receivedOf(entry);
        const rejection = rejectionOf(entry);
        if (rejection !== undefined && rejection !== 'policy' && rejection !== 'no-policy') continue;
        const again = this.#import(
          peer,
          received.source,
          received.prefix,
          received.attrs,
          hopsOf(received),
          undefined,
        );
        // The pre-policy path stays the one received (its arrival order, its stale flag); accepted
        // unchanged, it is the accepted path too.
        const next = received.stale ? markStale(compact(again)) : compact(again);
        this.#setEntry(d.prefix, peer, id, isPlainAccept(next) ? received : { ...next, received });
      }
      if (peer.session !== undefined) {
        peer.session.out.setPolicy(this.#policyOf(peer.settings.exportPolicy), this.#bestEntries());
        this.#dirty.add(peer);
      }
    }
    this.#notifyDirty();
  }

  // ---- routes out ----------------------------------------------------------------------------

  /** Everything the session should send now (and the Adj-RIB-Out records it as sent). */
  takeOutbound(id: string): OutboundBatch[] {
    const session = this.#peer(id).session;
    if (session === undefined) throw new RibError('peer', `"${id}" is not established`);
    return session.out.take();
  }

  /** The peer asked for a route refresh (RFC 2918): the whole table goes out again. */
  refresh(id: string): void {
    const peer = this.#peer(id);
    if (peer.session === undefined) throw new RibError('peer', `"${id}" is not established`);
    peer.session.out.resend(this.#bestEntries());
    peer.session.notify();
  }

  // ---- views ---------------------------------------------------------------------------------

  /** Loc-RIB entries within `prefix` (all when absent), in address order, as a router lists them. */
  routes(prefix?: string): RouteStatus[] {
    const within = prefix === undefined ? undefined : this.#parse(prefix);
    // Sorted by ribKey (address * 64 + length) for IPv4: no address parsed per comparison of a
    // full table; IPv6 after it, by address.
    const found: { readonly d: Destination; readonly key: PrefixKey }[] = [];
    for (const d of this.#loc.values()) {
      if (d.best !== undefined && (within === undefined || covers(within, d.prefix)))
        found.push({ d, key: ribKey(d.prefix) });
    }
    return found
      .sort((a, b) => compareRibKeys(a.key, b.key))
      .map(({ d }) => routeStatus(d.prefix, candidatesOf(d.inbound), d.best, multipathOf(d)));
  }

  bestPath(prefix: string): Path | undefined {
    return this.#loc.get(ribKey(this.#parse(prefix)))?.best;
  }

  /** The ECMP set of a prefix, best first. */
  multipath(prefix: string): readonly Path[] {
    const d = this.#loc.get(ribKey(this.#parse(prefix)));
    return d === undefined ? [] : multipathOf(d);
  }

  /** Adj-RIB-In of a peer: each route as received, with its post-policy path or rejection. */
  received(id: string): ReadonlyMap<string, ReceivedRoute> {
    this.#peer(id);
    const out = new Map<string, ReceivedRoute>();
    for (const [d, entry] of this.#entriesOf(id)) out.set(d.key, asReceivedRoute(entry));
    return out;
  }

  /** Adj-RIB-Out of an established peer: prefix -> attribute list last handed to the session. */
  advertised(id: string): ReadonlyMap<string, readonly PathAttribute[]> {
    const session = this.#peer(id).session;
    const out = new Map<string, readonly PathAttribute[]>();
    if (session === undefined) return out;
    for (const [key, group] of session.out.advertised()) out.set(key, group.attributes);
    return out;
  }

  counts(id: string): PeerCounts {
    const peer = this.#peer(id);
    return {
      received: peer.received,
      accepted: peer.accepted,
      advertised: peer.session?.out.advertisedCount ?? 0,
    };
  }

  get size(): number {
    return this.#routed;
  }

  // ---- internals -----------------------------------------------------------------------------

  #peer(id: string): Peer {
    const peer = this.#peers.get(id);
    if (peer === undefined) throw new RibError('peer', `no peer "${id}"`);
    return peer;
  }

  #policyOf(name: string | undefined): RoutePolicy | undefined {
    return name === undefined ? undefined : this.#policies.get(name);
  }

  #parse(prefix: string): Prefix {
    try {
      return parsePrefix(prefix);
    } catch (err) {
      throw new RibError('prefix', (err as Error).message);
    }
  }

  *#bestEntries(): Generator<readonly [string, Prefix, Path | undefined]> {
    for (const d of this.#loc.values()) if (d.best !== undefined) yield [d.key, d.prefix, d.best];
  }

  /** The Adj-RIB-In entries of one source, with their destinations. */
  *#entriesOf(sourceId: string): Generator<readonly [Destination, AdjInEntry]> {
    for (const d of this.#loc.values()) {
      const entries = entryList(d.inbound);
      const at = indexOfSource(entries, sourceId);
      if (at >= 0) yield [d, entries[at]!];
    }
  }

  /**
   * Replaces the Adj-RIB-In entry of `sourceId` (`peer`, or our own routes) for one prefix and,
   * when its candidate paths changed, re-runs the decision for that prefix only.
   */
  #setEntry(prefix: Prefix, peer: Peer | undefined, sourceId: string, entry: AdjInEntry | undefined): void {
    const at = ribKey(prefix);
    let d = this.#loc.get(at);
    let old: AdjInEntry | undefined;
    let before: readonly Path[] = NO_PATHS;
    if (d === undefined) {
      if (entry === undefined) return;
      d = { prefix, key: formatPrefix(prefix), inbound: entry, best: undefined, wider: undefined };
      this.#loc.set(at, d);
    } else {
      before = candidatesOf(d.inbound);
      const current = d.inbound;
      if (!isEntryList(current) && receivedOf(current).source.id === sourceId) {
        old = current;
        d.inbound = entry ?? NO_ENTRIES;
      } else {
        const list = entryList(current);
        const index = indexOfSource(list, sourceId);
        let next: readonly AdjInEntry[];
        if (index >= 0) {
          old = list[index];
          next = entry === undefined ? list.filter((_, i) => i !== index) : list.with(index, entry);
        } else if (entry === undefined) return;
        else next = [...list, entry];
        d.inbound = next.length === 1 ? next[0]! : next;
      }
    }
    if (peer !== undefined) countEntry(peer, old, entry);
    if (isEntryList(d.inbound) && d.inbound.length === 0) this.#loc.delete(at);
    const paths = candidatesOf(d.inbound);
    // Identity, not samePath: a path now marked stale must replace the best path object too.
    if (paths.length === before.length && paths.every((p, i) => p === before[i])) return;
    this.#routed += (paths.length > 0 ? 1 : 0) - (before.length > 0 ? 1 : 0);
    const previousBest = d.best;
    const previousSet = multipathOf(d);
    const { best, multipath } = selectPaths(paths, this.#decision);
    d.best = best;
    d.wider = multipath.length > 1 ? multipath : undefined;
    const bestChanged = !samePath(previousBest, best);
    if (!bestChanged && sameSet(previousSet, multipath)) return;
    // One literal (absent paths as undefined), no spreads: this runs once per prefix of a full table.
    const change: LocRibChange = { prefix: d.prefix, key: d.key, best, paths: multipath, previousBest };
    for (const listener of this.#listeners) listener(change);
    if (!bestChanged) return;
    for (const peer of this.#peers.values()) {
      if (peer.session === undefined) continue;
      if (peer.session.out.update(d.key, d.prefix, best)) this.#dirty.add(peer);
    }
  }

  #notifyDirty(): void {
    for (const peer of this.#dirty) peer.session?.notify();
    this.#dirty.clear();
  }
}

const NO_PATHS: readonly Path[] = Object.freeze([]);

/** IPv4 (numeric keys) before IPv6 (text keys), then by address, then shorter first. */
function compareRibKeys(a: PrefixKey, b: PrefixKey): number {
  if (typeof a === 'number') return typeof b === 'number' ? a - b : -1;
  if (typeof b === 'number') return 1;
  const [addressA = '', lengthA = ''] = a.split('/');
  const [addressB = '', lengthB = ''] = b.split('/');
  return compareAddresses(addressA, addressB) || Number(lengthA) - Number(lengthB);
}

/** The Loc-RIB's map key (no string per lookup of a full IPv4 table). */
function ribKey(prefix: Prefix): PrefixKey {
  const address = prefix.family === 'ipv4' ? parseIPv4Number(prefix.addr) : undefined;
  return address === undefined ? formatPrefix(prefix) : ipv4PrefixKey(address, prefix.len);
}

const NO_ENTRIES: readonly AdjInEntry[] = Object.freeze([]);

const isEntryList = (inbound: Inbound): inbound is readonly AdjInEntry[] => Array.isArray(inbound);

/** The entries as a list (a one-element array for a lone entry: for walks, not the hot path). */
const entryList = (inbound: Inbound): readonly AdjInEntry[] => (isEntryList(inbound) ? inbound : [inbound]);

/** The ECMP set, best first; empty without a best path. */
const multipathOf = (d: Destination): readonly Path[] =>
  d.wider ?? (d.best === undefined ? NO_PATHS : [d.best]);

function indexOfSource(entries: readonly AdjInEntry[], sourceId: string): number {
  for (let i = 0; i < entries.length; i++) if (receivedOf(entries[i]!).source.id === sourceId) return i;
  return -1;
}

/** The accepted paths of a destination's entries; the entry list itself when all are plain accepts. */
function candidatesOf(inbound: Inbound): readonly Path[] {
  if (!isEntryList(inbound)) {
    const accepted = acceptedOf(inbound);
    return accepted === undefined ? NO_PATHS : [accepted];
  }
  if (inbound.every(isPlainAccept)) return inbound as readonly Path[];
  const paths: Path[] = [];
  for (const entry of inbound) {
    const accepted = acceptedOf(entry);
    if (accepted !== undefined) paths.push(accepted);
  }
  return paths;
}

function countEntry(peer: Peer, old: AdjInEntry | undefined, entry: AdjInEntry | undefined): void {
  peer.received += (entry === undefined ? 0 : 1) - (old === undefined ? 0 : 1);
  peer.accepted +=
    (entry === undefined || acceptedOf(entry) === undefined ? 0 : 1) -
    (old === undefined || acceptedOf(old) === undefined ? 0 : 1);
}

function sameSet(a: readonly Path[], b: readonly Path[]): boolean {
  return a.length === b.length && a.every((p, i) => samePath(p, b[i]));
}

/** The RIB view of one of our routes' attributes; RibError naming `field` for a next hop. */
function localAttrs(list: readonly PathAttribute[], field: string): PathAttrs {
  const bad = list.find(
    (a) => a.type === 'next-hop' || a.type === 'mp-reach-nlri' || a.type === 'mp-unreach-nlri',
  );
  if (bad !== undefined) throw new RibError(field, `${bad.type}: the next hop is chosen per peer`);
  return fromCodecAttributes(list, field).attrs;
}

/**
 * An Adj-RIB-In entry: a path accepted unchanged is stored as the path alone (one object less
 * per route of a full table), anything else as its ReceivedRoute.
 */
type AdjInEntry = Path | ReceivedRoute;

const isPlainAccept = (entry: AdjInEntry): entry is Path =>
  (entry as Partial<ReceivedRoute>).received === undefined;
const receivedOf = (entry: AdjInEntry): Path => (isPlainAccept(entry) ? entry : entry.received);
const acceptedOf = (entry: AdjInEntry): Path | undefined => (isPlainAccept(entry) ? entry : entry.accepted);
const rejectionOf = (entry: AdjInEntry): ImportRefusal | undefined =>
  isPlainAccept(entry) ? undefined : entry.rejection;
const asReceivedRoute = (entry: AdjInEntry): ReceivedRoute =>
  isPlainAccept(entry) ? { received: entry, accepted: entry } : entry;
const compact = (route: ReceivedRoute): AdjInEntry =>
  route.accepted === route.received ? route.received : route;

function markStale(entry: AdjInEntry): AdjInEntry {
  if (isPlainAccept(entry)) return { ...entry, stale: true };
  const route = entry;
  const received: Path = { ...route.received, stale: true };
  if (route.accepted === undefined) return { ...route, received };
  const accepted = route.accepted === route.received ? received : { ...route.accepted, stale: true };
  return { ...route, received, accepted };
}

function hopsOf(p: Path): NextHops | undefined {
  if (p.nextHop === undefined) return undefined;
  return p.linkLocalNextHop === undefined
    ? { nextHop: p.nextHop }
    : { nextHop: p.nextHop, linkLocalNextHop: p.linkLocalNextHop };
}

const addressFamily = (address: string): IpFamily => (address.includes(':') ? 'ipv6' : 'ipv4');
