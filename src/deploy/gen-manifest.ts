#!/usr/bin/env node
// Writes manifests/trellis.yaml and manifests/kustomization.yaml, or with --check exits 1 when
// the committed files differ from what the sources generate.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatorMain, repoRoot } from './generated-files.js';
import { kustomization, renderInstallManifest } from './manifest.js';

export const manifestFiles = (dir: string = path.join(repoRoot(), 'manifests')): Map<string, string> =>
  new Map([
    [path.join(dir, 'trellis.yaml'), renderInstallManifest()],
    [path.join(dir, 'kustomization.yaml'), kustomization()],
  ]);

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  process.exitCode = await generatorMain(manifestFiles(), process.argv.slice(2));
}
