// Mocha root hooks (.mocharc.json: "require": ["dist/test/setup.js"]). Before any test: remove
// lab runs whose owner died (earlier runs killed with SIGKILL). After all tests: prove that no
// namespace, tracked process or state file created by this test run is left, failing loudly and
// then removing them so the machine stays clean.
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

export const mochaHooks = {
  async beforeAll(): Promise<void> {
    if (!isRoot()) return;
    const report = await cleanupStale();
    if (report.removed.length > 0 || report.orphans.length > 0) {
      console.warn(
        `lab: removed stale runs [${report.removed.join(', ')}], orphans [${report.orphans.join(', ')}]`,
      );
    }
  },

  async afterAll(): Promise<void> {
    const runs = runsOfThisProcess();
    const leftovers = findLeftovers(runs);
    if (!hasLeftovers(leftovers)) return;
    for (const run of runs) await cleanupByPrefix(run.prefix, { stateDir: dirname(run.statePath) });
    throw new Error(
      `lab runs of this test process left things behind (now removed): ${describeLeftovers(leftovers)}`,
    );
  },
};
