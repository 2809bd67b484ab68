// A small interpreter for exactly the iptables/ipset subset the renderer emits, so tests can
// check the rendered TEXT decides like the IR (marks, goto vs jump, RETURN, set matching).
// It models the first packet of a connection: conntrack state NEW.
import assert from 'node:assert/strict';
import ipaddr from 'ipaddr.js';
import type { Protocol } from '../../policy/model.js';
import type { RenderedFamily, RenderedSet } from '../../policy/render.js';

export interface SimPacket {
  src: string;
  dst: string;
  protocol: Protocol;
  port: number;
  inIface: string;
  outIface: string;
}

type Outcome = 'ACCEPT' | 'DROP' | 'RETURN';

export class FilterSimulator {
  private readonly chains = new Map<string, string[][]>();
  private readonly sets = new Map<string, RenderedSet>();

  constructor(family: RenderedFamily, sets: readonly RenderedSet[]) {
    for (const s of sets) this.sets.set(s.name, s);
    for (const line of family.filterRestore.split('\n')) {
      if (line.startsWith(':')) this.chains.set(line.slice(1).split(' ')[0]!, []);
      if (!line.startsWith('-A ')) continue;
      const words = line.split(' ');
      const rules = this.chains.get(words[1]!);
      assert.ok(rules, `rule for undeclared chain: ${line}`);
      rules.push(words.slice(2));
    }
    this.chains.set(
      'FORWARD',
      family.hooks.map((h) => h.rule.split(' ')),
    );
  }

  /** The verdict of the FORWARD chain; `RETURN` means it fell through to the chain policy. */
  forward(packet: SimPacket): Outcome {
    return this.run('FORWARD', packet, { mark: 0 });
  }

  private run(chain: string, packet: SimPacket, state: { mark: number }): Outcome {
    const rules = this.chains.get(chain);
    assert.ok(rules, `jump to unknown chain ${chain}`);
    for (const rule of rules) {
      const target = this.matchAndTarget(rule, packet, state);
      if (target === undefined) continue;
      const [verb, name, ...rest] = target;
      if (verb === '-g') return this.run(name!, packet, state);
      if (name === 'ACCEPT' || name === 'DROP' || name === 'RETURN') return name;
      if (name === 'MARK') {
        assert.equal(rest[0], '--set-xmark');
        const [value, mask] = rest[1]!.split('/').map(Number) as [number, number];
        state.mark = (state.mark & ~mask) | value;
        continue;
      }
      const result = this.run(name!, packet, state);
      if (result !== 'RETURN') return result;
    }
    return 'RETURN';
  }

  /** The target words if every match of the rule holds, else undefined. */
  private matchAndTarget(rule: string[], p: SimPacket, state: { mark: number }): string[] | undefined {
    let i = 0;
    while (i < rule.length) {
      const w = rule[i]!;
      if (w === '-j' || w === '-g') return rule.slice(i);
      if (w === '-s' || w === '-d') {
        if (!sameHost(rule[i + 1]!, w === '-s' ? p.src : p.dst)) return undefined;
        i += 2;
      } else if (w === '-i' || w === '-o') {
        if (!ifaceMatches(rule[i + 1]!, w === '-i' ? p.inIface : p.outIface)) return undefined;
        i += 2;
      } else if (w === '-p') {
        if (rule[i + 1] !== p.protocol.toLowerCase()) return undefined;
        i += 2;
      } else if (w === '-m') {
        const module = rule[i + 1]!;
        if (module === 'comment') i += 4;
        else if (module === 'conntrack') {
          // A NEW packet matches neither of the states the renderer tests.
          assert.ok(['RELATED,ESTABLISHED', 'INVALID'].includes(rule[i + 3]!), rule.join(' '));
          return undefined;
        } else if (module === 'mark') {
          const [value, mask] = rule[i + 3]!.split('/').map(Number) as [number, number];
          if ((state.mark & mask) !== value) return undefined;
          i += 4;
        } else if (module === 'set') {
          if (!this.setMatches(rule[i + 3]!, rule[i + 4]!, p)) return undefined;
          i += 5;
        } else {
          assert.ok(['tcp', 'udp', 'sctp'].includes(module) && rule[i + 2] === '--dport', rule.join(' '));
          const [first, last] = rule[i + 3]!.split(':').map(Number) as [number, number | undefined];
          if (p.port < first || p.port > (last ?? first)) return undefined;
          i += 4;
        }
      } else {
        assert.fail(`unexpected word ${w} in ${rule.join(' ')}`);
      }
    }
    assert.fail(`rule without target: ${rule.join(' ')}`);
  }

  private setMatches(name: string, dirs: string, p: SimPacket): boolean {
    const set = this.sets.get(name);
    assert.ok(set, `rule references unknown set ${name}`);
    const addr = ipaddr.parse(dirs.startsWith('src') ? p.src : p.dst);
    if (set.type === 'hash:ip') return set.entries.some((e) => sameHost(e, addr.toString()));
    if (set.type === 'hash:ip,port') {
      assert.equal(dirs, 'dst,dst');
      return set.entries.some((e) => {
        const [ip, pp] = e.split(',') as [string, string];
        return sameHost(ip, p.dst) && pp === `${p.protocol.toLowerCase()}:${p.port}`;
      });
    }
    let best: { bits: number; nomatch: boolean } | undefined;
    for (const e of set.entries) {
      const [cidr, flag] = e.split(' ');
      const [net, bits] = ipaddr.parseCIDR(cidr!);
      if (net.kind() === addr.kind() && addr.match(net, bits) && (best === undefined || bits > best.bits)) {
        best = { bits, nomatch: flag === 'nomatch' };
      }
    }
    return best !== undefined && !best.nomatch;
  }
}

function sameHost(spec: string, ip: string): boolean {
  const [a] = spec.split('/');
  return ipaddr.parse(a!).toNormalizedString() === ipaddr.parse(ip).toNormalizedString();
}

function ifaceMatches(spec: string, iface: string): boolean {
  return spec.endsWith('+') ? iface.startsWith(spec.slice(0, -1)) : iface === spec;
}
