// Decides a packet against the IR with the semantics the rendered chains have: the sender's
// egress and the receiver's ingress must both allow; an isolated endpoint allows what some
// policy chain's rule matches, plus hairpin traffic to itself. For `explain` tooling and tests.
import { cidrContainsAddress, compareIps, parseCidr, parseIp } from './cidr.js';
import type { Direction, EndpointIR, FamilyIR, IpSetIR, PolicyIR, RuleIR } from './ir.js';
import { PolicyValidationError } from './issues.js';
import type { Protocol } from './model.js';

/** A new connection's first packet as the node forwards it. */
export interface Packet {
  src: string;
  dst: string;
  protocol: Protocol;
  port: number;
  /** Interface the packet arrives on, if it is a workload interface. */
  inIface?: string;
  /** Interface the packet leaves on, if it is a workload interface. */
  outIface?: string;
}

/** `unknownWorkload`: a workload interface without an endpoint (fail closed: dropped). */
export type Verdict = 'allow' | 'deny' | 'unknownWorkload';

export function evaluatePacket(ir: PolicyIR, packet: Packet): Verdict {
  const src = parseIp(packet.src);
  const dst = parseIp(packet.dst);
  if (src === undefined || dst === undefined || src.family !== dst.family) {
    throw new PolicyValidationError([
      {
        path: 'packet',
        code: 'Invalid',
        detail: `${packet.src} -> ${packet.dst}: need two addresses of one family`,
      },
    ]);
  }
  const fam = src.family === 4 ? ir.v4 : ir.v6;
  const endpointOf = (iface: string | undefined): EndpointIR | 'none' | 'unknown' => {
    if (iface === undefined) return 'none';
    return fam.endpoints.find((e) => e.iface === iface) ?? 'unknown';
  };
  const from = endpointOf(packet.inIface);
  const to = endpointOf(packet.outIface);
  if (from === 'unknown' || to === 'unknown') return 'unknownWorkload';
  if (from !== 'none' && !directionAllows(fam, from, 'egress', packet)) return 'deny';
  if (to !== 'none' && !directionAllows(fam, to, 'ingress', packet)) return 'deny';
  return 'allow';
}

function directionAllows(fam: FamilyIR, endpoint: EndpointIR, direction: Direction, packet: Packet): boolean {
  const d = endpoint[direction];
  if (!d.isolated) return true;
  const hairpin =
    packet.inIface === endpoint.iface &&
    packet.outIface === endpoint.iface &&
    sameIp(packet.src, packet.dst) &&
    endpoint.addresses.some((a) => sameIp(a, packet.src));
  if (hairpin) return true;
  return d.policyChains.some((id) => {
    const chain = fam.policyChains.find((c) => c.id === id);
    if (chain === undefined) throw new Error(`IR references missing policy chain ${id}`);
    return chain.rules.some((r) => ruleMatches(fam, r, direction, packet));
  });
}

function ruleMatches(fam: FamilyIR, rule: RuleIR, direction: Direction, packet: Packet): boolean {
  if (rule.protocol !== undefined && rule.protocol !== packet.protocol) return false;
  if (rule.ports !== undefined && (packet.port < rule.ports.first || packet.port > rule.ports.last))
    return false;
  if (rule.peerSet !== undefined) {
    const peer = direction === 'ingress' ? packet.src : packet.dst;
    if (!setHasAddress(findSet(fam, rule.peerSet), peer)) return false;
  }
  if (rule.namedPortSet !== undefined) {
    const set = findSet(fam, rule.namedPortSet);
    const hit = set.members.some(
      (m) =>
        m.kind === 'ipPort' &&
        sameIp(m.ip, packet.dst) &&
        m.protocol === packet.protocol &&
        m.port === packet.port,
    );
    if (!hit) return false;
  }
  return true;
}

function findSet(fam: FamilyIR, key: string): IpSetIR {
  const set = fam.sets.find((s) => s.key === key);
  if (set === undefined) throw new Error(`IR references missing set ${key}`);
  return set;
}

/** hash:ip is exact; hash:net lets the longest matching prefix decide, a nomatch entry excludes. */
function setHasAddress(set: IpSetIR, text: string): boolean {
  const addr = parseIp(text)!;
  let best: { length: number; nomatch: boolean } | undefined;
  for (const m of set.members) {
    if (m.kind === 'ip' && sameIp(m.ip, text)) return true;
    if (m.kind !== 'net') continue;
    const cidr = parseCidr(m.cidr)!;
    if (cidrContainsAddress(cidr, addr) && (best === undefined || cidr.length > best.length)) {
      best = { length: cidr.length, nomatch: m.nomatch };
    }
  }
  return best !== undefined && !best.nomatch;
}

function sameIp(a: string, b: string): boolean {
  const x = parseIp(a);
  const y = parseIp(b);
  return x !== undefined && y !== undefined && compareIps(x, y) === 0;
}
