// Generated files are committed (reviewers read them; kubectl applies them) and a test proves
// each one equals what its source generates. One routine writes them, or reports stale ones.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root of this build (dist/src/deploy/ → ../../../). */
export const repoRoot = (): string => path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Writes each file whose content differs (unless check); returns the paths that differed. */
export async function syncGeneratedFiles(
  files: ReadonlyMap<string, string>,
  check: boolean,
): Promise<string[]> {
  const stale: string[] = [];
  for (const [file, wanted] of files) {
    const current = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    if (current === wanted) continue;
    stale.push(file);
    if (!check) {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, wanted);
    }
  }
  return stale;
}

/** `node <generator> [--check]`: exit 1 in check mode when anything is out of date. */
export async function generatorMain(
  files: ReadonlyMap<string, string>,
  argv: readonly string[],
): Promise<number> {
  const check = argv.includes('--check');
  const stale = await syncGeneratedFiles(files, check);
  for (const file of stale) process.stdout.write(`${check ? 'out of date' : 'wrote'}: ${file}\n`);
  return check && stale.length > 0 ? 1 : 0;
}
