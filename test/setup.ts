// Mocha root hooks (.mocharc.json: "require": ["dist/test/setup.js"]). Before any test: remove
// lab runs whose owner died (earlier runs killed with SIGKILL). After all tests: prove that no
// namespace, tracked process or state file created by this test run is left, failing loudly and
// then removing them so the machine stays clean.
import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import {
  cleanupByPrefix,
  cleanupStale,
  describeLeftovers,
  findLeftovers,
  hasLeftovers,
  isRoot,
  runsOfThisProcess,
} from '../src/lab/index.js';

/**
 * What any test could leave on the machine, lab or not: namespaces, routing daemons, and our
 * iptables chains in the root namespace. Snapshotted before the run and compared after it, so
 * a test that builds things by hand is held to the same rule as one that uses the lab.
 */
interface MachineState {
  namespaces: string[];
  daemons: string[];
  chains: string[];
}

const DAEMONS = /^(bird|bgpd|zebra|gobgpd|exabgp|watchfrr)$/;

function output(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

function machineState(): MachineState {
  const namespaces = output('ip', ['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
  const daemons = output('ps', ['-eo', 'pid=,comm='])
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([, comm]) => comm !== undefined && DAEMONS.test(comm))
    .map(([pid, comm]) => `${comm}(${pid})`);
  const chains = [output('iptables-save', []), output('ip6tables-save', [])]
    .join('\n')
    .split('\n')
    .filter((l) => /^:(trl|trellis)/i.test(l))
    .map((l) => l.slice(1).split(' ')[0] ?? '');
  return { namespaces, daemons, chains };
}

let before: MachineState | undefined;

function newSince(base: MachineState, now: MachineState): string[] {
  const added = (key: keyof MachineState): string[] => now[key].filter((x) => !base[key].includes(x));
  return [
    ...added('namespaces').map((n) => `namespace ${n}`),
    ...added('daemons').map((d) => `daemon ${d}`),
    ...added('chains').map((c) => `iptables chain ${c}`),
  ];
}

export const mochaHooks = {
  async beforeAll(): Promise<void> {
    if (!isRoot()) return;
    before = machineState();
    const report = await cleanupStale();
    if (report.removed.length > 0 || report.orphans.length > 0) {
      console.warn(
        `lab: removed stale runs [${report.removed.join(', ')}], orphans [${report.orphans.join(', ')}]`,
      );
    }
  },

  async afterAll(): Promise<void> {
    // Noticed before the lab clean-up below, which removes lab leftovers (and says so).
    const left = before === undefined ? [] : newSince(before, machineState());
    const runs = runsOfThisProcess();
    const leftovers = findLeftovers(runs);
    if (hasLeftovers(leftovers)) {
      for (const run of runs) await cleanupByPrefix(run.prefix, { stateDir: dirname(run.statePath) });
      throw new Error(
        `lab runs of this test process left things behind (now removed): ${describeLeftovers(leftovers)}`,
      );
    }
    if (left.length > 0) throw new Error(`the test run left these behind: ${left.join(', ')}`);
  },
};
