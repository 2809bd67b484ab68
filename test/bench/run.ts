// `npm run bench`: runs every registered section (or those named on the command line) and
// prints their tables. Add a section by implementing BenchSection and listing it here.
import { bgpSection } from './bgp.js';
import { cniSection } from './cni.js';
import { policySection } from './policy.js';
import { type BenchSection, formatBenchTable } from './section.js';

const SECTIONS: readonly BenchSection[] = [cniSection, policySection, bgpSection];

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !SECTIONS.some((s) => s.name === w));
  if (unknown.length > 0) {
    throw new Error(
      `unknown section(s) ${unknown.join(', ')}; have ${SECTIONS.map((s) => s.name).join(', ')}`,
    );
  }
  for (const section of SECTIONS) {
    if (wanted.length > 0 && !wanted.includes(section.name)) continue;
    for (const table of await section.run()) console.log(`${formatBenchTable(table)}\n`);
  }
}

await main();
