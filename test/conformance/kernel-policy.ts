// Loads a RenderedPolicy into the node namespace the way docs/policy.md "Applying" describes,
// for as long as policy/apply has not landed: sets first (scratch + swap, atomic), then each
// family's chains in one iptables-restore transaction, the FORWARD hook if absent, and last the
// chains and sets the new policy no longer has.
import type { RenderedPolicy } from '../../policy/render.js';
import type { Lab } from '../../src/lab/index.js';

const OUR_CHAIN = /^:(trl-\S+) /gm;
const OUR_SET = /^trl[46][pne]-\S+$/;

export async function loadPolicy(lab: Lab, ns: string, rendered: RenderedPolicy): Promise<void> {
  await lab.exec(ns, 'ipset', ['restore'], { input: rendered.ipsetRestore });
  for (const [tool, family] of [
    ['iptables', rendered.v4],
    ['ip6tables', rendered.v6],
  ] as const) {
    const save = (await lab.exec(ns, `${tool}-save`, ['-t', 'filter'])).stdout;
    const wanted = new Set(family.chains.map((c) => c.name));
    const stale = [...save.matchAll(OUR_CHAIN)].map((m) => m[1]!).filter((c) => !wanted.has(c));
    const hooks = family.hooks.filter((h) => !save.includes(`-A ${h.chain} ${h.rule}`));
    // Stale chains are flushed in the same transaction that rewrites their callers, then
    // deleted: a chain can only be deleted once nothing jumps to it.
    const script = [
      family.filterRestore.replace(/^COMMIT\n?$/m, ''),
      ...stale.map((c) => `-F ${c}`),
      ...hooks.map((h) => `-I ${h.chain} 1 ${h.rule}`),
      'COMMIT',
      ...(stale.length > 0 ? ['*filter', ...stale.map((c) => `-X ${c}`), 'COMMIT'] : []),
      '',
    ].join('\n');
    await lab.exec(ns, `${tool}-restore`, ['--noflush'], { input: script });
  }
  const wantedSets = new Set(rendered.sets.map((s) => s.name));
  const staleSets = (await lab.exec(ns, 'ipset', ['list', '-n'])).stdout
    .split('\n')
    .filter((s) => OUR_SET.test(s) && !wantedSets.has(s));
  if (staleSets.length > 0) {
    await lab.exec(ns, 'ipset', ['restore'], { input: staleSets.map((s) => `destroy ${s}\n`).join('') });
  }
}
