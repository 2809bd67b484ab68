#!/usr/bin/env node
// Writes manifests/crds/<plural>.trellis.network.yaml from the resource definitions, or with
// --check exits 1 when a committed manifest differs from what the definitions generate.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatorMain, repoRoot, syncGeneratedFiles } from '../deploy/generated-files.js';
import { crdFileName, renderCrd } from './crd.js';
import { resourceDefinitions } from './registry.js';

export const defaultCrdDir = (): string => path.join(repoRoot(), 'manifests/crds');

export const crdFiles = (dir: string): Map<string, string> =>
  new Map(resourceDefinitions.map((def) => [path.join(dir, crdFileName(def)), renderCrd(def)]));

/** The files that differ from the definitions (all of them are rewritten unless check). */
export const generateCrds = (dir: string, check: boolean): Promise<string[]> =>
  syncGeneratedFiles(crdFiles(dir), check);

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  process.exitCode = await generatorMain(crdFiles(defaultCrdDir()), process.argv.slice(2));
}
