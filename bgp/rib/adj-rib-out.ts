// Adj-RIB-Out of one peer: what we last sent, what should change, and the changes grouped by
// identical attribute lists so the session packs many prefixes per UPDATE (codec packUpdates).
import type { IpFamily, PathAttribute, Prefix } from '../codec/index.js';
import { evaluatePolicy } from '../policy/index.js';
import type { RoutePolicy } from '../policy/model.js';
import { type NextHops, toCodecAttributes } from './codec.js';
import {
  type ExportRefusal,
  type ExportTarget,
  exportAttrs,
  exportRefusal,
  nextHopsFor,
  type SessionAddresses,
} from './export.js';
import { internAttrs } from './intern.js';
import type { Path, PathAttrs } from './path.js';

/** One attribute list as sent: `attributes` is ready for packUpdates (next hop included). */
export interface OutboundGroup {
  readonly family: IpFamily;
  readonly attrs: PathAttrs;
  readonly nextHops: NextHops;
  readonly attributes: readonly PathAttribute[];
}

/** What the session sends next, in order. */
export type OutboundBatch =
  | {
      readonly kind: 'announce';
      readonly family: IpFamily;
      readonly attributes: readonly PathAttribute[];
      readonly prefixes: readonly Prefix[];
    }
  | { readonly kind: 'withdraw'; readonly family: IpFamily; readonly prefixes: readonly Prefix[] }
  /** RFC 4724: the initial table of this family has been sent. */
  | { readonly kind: 'end-of-rib'; readonly family: IpFamily };

export interface AdjRibOutOptions {
  readonly target: ExportTarget;
  readonly addresses: SessionAddresses;
  /** Families the session carries, in the order their End-of-RIB markers go out. */
  readonly families: readonly IpFamily[];
  readonly policy?: RoutePolicy;
  /** RFC 8212: no export policy toward an eBGP peer means nothing is sent. */
  readonly denyWithoutPolicy: boolean;
}

/** Why a best path is not advertised: a rule, the export policy, RFC 8212, or a family the session lacks. */
export type NotExported = ExportRefusal | 'policy' | 'no-policy' | 'family';

export type ExportResult =
  | { readonly advertise: true; readonly group: OutboundGroup }
  | { readonly advertise: false; readonly reason: NotExported };

interface Pending {
  readonly prefix: Prefix;
  /** Undefined: withdraw. */
  readonly group: OutboundGroup | undefined;
}

export class AdjRibOut {
  #opts: AdjRibOutOptions;
  /** What the peer holds: prefix key -> the group it was announced with. */
  readonly #sent = new Map<string, OutboundGroup>();
  readonly #pending = new Map<string, Pending>();
  /** Memo of exported attributes: source attrs -> "source id|statement" -> exported attrs. */
  #exported = new WeakMap<PathAttrs, Map<string, PathAttrs>>();
  /** Interned groups: exported attrs -> next hop text -> group. */
  readonly #groups = new WeakMap<PathAttrs, Map<string, OutboundGroup>>();
  #endOfRibDue: boolean;
  /** The previous export's inputs and result. */
  #last?: { attrs: PathAttrs; source: Path['source']; statement: number; group: OutboundGroup };

  constructor(opts: AdjRibOutOptions) {
    this.#opts = opts;
    this.#endOfRibDue = true;
  }

  get advertisedCount(): number {
    return this.#sent.size;
  }

  /** What the target would be sent for this best path (or why not). */
  exportOf(path: Path): ExportResult {
    const r = this.#export(path);
    return typeof r === 'string' ? { advertise: false, reason: r } : { advertise: true, group: r };
  }

  #export(path: Path): OutboundGroup | NotExported {
    const { target, policy } = this.#opts;
    const refusal = exportRefusal(path, target);
    if (refusal !== undefined) return refusal;
    if (policy === undefined && this.#opts.denyWithoutPolicy && target.peer.type === 'ebgp')
      return 'no-policy';
    let attrs = path.attrs;
    let statement = -1;
    let forceSelf = path.source.type === 'local';
    if (policy !== undefined) {
      const verdict = evaluatePolicy(policy, path.prefix, attrs, { prependAs: target.localAs });
      if (!verdict.accepted) return 'policy';
      attrs = verdict.attrs;
      statement = verdict.statement;
      forceSelf ||= verdict.nextHopSelf;
    }
    const hops = nextHopsFor(path, target, this.#opts.addresses, forceSelf);
    if (hops === undefined) return 'family';
    const last = this.#last;
    // Consecutive prefixes of one UPDATE share everything: skip the memo lookups and key strings.
    if (
      last !== undefined &&
      last.attrs === attrs &&
      last.source === path.source &&
      last.statement === statement &&
      last.group.family === path.prefix.family &&
      last.group.nextHops.nextHop === hops.nextHop &&
      last.group.nextHops.linkLocalNextHop === hops.linkLocalNextHop
    ) {
      return last.group;
    }
    const group = this.#group(path, attrs, statement, hops);
    this.#last = { attrs, source: path.source, statement, group };
    return group;
  }

  #group(path: Path, attrs: PathAttrs, statement: number, hops: NextHops): OutboundGroup {
    let bySource = this.#exported.get(attrs);
    if (bySource === undefined) {
      bySource = new Map();
      this.#exported.set(attrs, bySource);
    }
    // Export depends on the source (type, router id for ORIGINATOR_ID), not on the prefix.
    const { id, type, routerId } = path.source;
    const sourceKey = `${id}|${type}|${routerId}|${statement}`;
    let out = bySource.get(sourceKey);
    if (out === undefined) {
      out = internAttrs(exportAttrs(path, attrs, this.#opts.target));
      bySource.set(sourceKey, out);
    }
    let byHop = this.#groups.get(out);
    if (byHop === undefined) {
      byHop = new Map();
      this.#groups.set(out, byHop);
    }
    const family = path.prefix.family;
    const hopKey = `${family}|${hops.nextHop}|${hops.linkLocalNextHop ?? ''}`;
    let group = byHop.get(hopKey);
    if (group === undefined) {
      group = { family, attrs: out, nextHops: hops, attributes: toCodecAttributes(out, family, hops) };
      byHop.set(hopKey, group);
    }
    return group;
  }

  /**
   * The Loc-RIB best path for `key` changed (undefined: no route): queue what the peer must learn.
   * True when the queue now holds a change for it.
   */
  update(key: string, prefix: Prefix, best: Path | undefined): boolean {
    const result = best === undefined ? undefined : this.#export(best);
    const group = typeof result === 'object' ? result : undefined;
    // Not for this peer, and it holds and awaits nothing (the peer a full table comes from): no
    // lookup by prefix text, which costs a hash of a fresh string per prefix.
    if (group === undefined && this.#sent.size === 0 && this.#pending.size === 0) return false;
    if (group === this.#sent.get(key)) {
      this.#pending.delete(key);
      return false;
    }
    this.#pending.set(key, { prefix, group });
    return true;
  }

  /** A new export policy (or none): re-evaluate every best path; only differences are queued. */
  setPolicy(
    policy: RoutePolicy | undefined,
    entries: Iterable<readonly [string, Prefix, Path | undefined]>,
  ): void {
    const { policy: _old, ...rest } = this.#opts;
    this.#opts = policy === undefined ? rest : { ...rest, policy };
    this.#exported = new WeakMap();
    this.#last = undefined;
    for (const [key, prefix, best] of entries) this.update(key, prefix, best);
  }

  /** Route refresh (RFC 2918): send the whole table again. */
  resend(entries: Iterable<readonly [string, Prefix, Path | undefined]>): void {
    this.#sent.clear();
    for (const [key, prefix, best] of entries) this.update(key, prefix, best);
  }

  /** Takes every queued change: withdrawals, then announcements grouped per attribute list, then due End-of-RIBs. */
  take(): OutboundBatch[] {
    const withdrawals = new Map<IpFamily, Prefix[]>();
    const announcements = new Map<OutboundGroup, Prefix[]>();
    for (const [key, { prefix, group }] of this.#pending) {
      if (group === undefined) {
        this.#sent.delete(key);
        const list = withdrawals.get(prefix.family);
        if (list === undefined) withdrawals.set(prefix.family, [prefix]);
        else list.push(prefix);
      } else {
        this.#sent.set(key, group);
        const list = announcements.get(group);
        if (list === undefined) announcements.set(group, [prefix]);
        else list.push(prefix);
      }
    }
    this.#pending.clear();
    const out: OutboundBatch[] = [];
    for (const [family, prefixes] of withdrawals) out.push({ kind: 'withdraw', family, prefixes });
    for (const [group, prefixes] of announcements) {
      out.push({ kind: 'announce', family: group.family, attributes: group.attributes, prefixes });
    }
    if (this.#endOfRibDue) {
      for (const family of this.#opts.families) out.push({ kind: 'end-of-rib', family });
      this.#endOfRibDue = false;
    }
    return out;
  }

  /** Prefixes the peer holds from us, with the attribute list each was sent with. */
  *advertised(): Generator<readonly [string, OutboundGroup]> {
    yield* this.#sent;
  }
}
