#!/usr/bin/env node
// Writes manifests/crds/<plural>.trellis.network.yaml from the resource definitions, or with
// --check exits 1 when a committed manifest differs from what the definitions generate.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crdFileName, renderCrd } from './crd.js';
import { resourceDefinitions } from './registry.js';

/** manifests/crds of the repository this file was built in (dist/src/resources/ → ../../../). */
export const defaultCrdDir = (): string =>
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../manifests/crds');

/** The files that differ from the definitions (all of them are rewritten unless check). */
export async function generateCrds(dir: string, check: boolean): Promise<string[]> {
  const stale: string[] = [];
  for (const def of resourceDefinitions) {
    const file = path.join(dir, crdFileName(def));
    const wanted = renderCrd(def);
    const current = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    if (current === wanted) continue;
    stale.push(file);
    if (!check) await writeFile(file, wanted);
  }
  return stale;
}

async function main(argv: readonly string[]): Promise<number> {
  const check = argv.includes('--check');
  const stale = await generateCrds(defaultCrdDir(), check);
  for (const file of stale) process.stdout.write(`${check ? 'out of date' : 'wrote'}: ${file}\n`);
  return check && stale.length > 0 ? 1 : 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  process.exitCode = await main(process.argv.slice(2));
}
