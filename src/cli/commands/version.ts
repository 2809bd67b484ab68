// `trellis version`
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';

/** The package version, read from the package.json this build belongs to (dist/src/cli/commands → root). */
export function packageVersion(): string {
  const url = new URL('../../../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}

export function register(program: Command): void {
  program
    .command('version')
    .description('print the trellis version')
    .action(() => {
      process.stdout.write(`trellis ${packageVersion()} (node ${process.versions.node})\n`);
    });
}
