// Reading manifests for apply/delete -f: YAML or JSON files, multi-document, directories
// recursively in name order, `kind: List` expanded.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CliError } from './errors.js';

export interface ManifestDocument {
  /** `file` or `file#2` (1-based document number) for messages. */
  source: string;
  object: unknown;
}

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

async function manifestFiles(target: string): Promise<string[]> {
  const info = await stat(target).catch((e: NodeJS.ErrnoException) => {
    throw new CliError(`${target}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`);
  });
  if (!info.isDirectory()) return [target];
  const entries = (await readdir(target, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  const files: string[] = [];
  for (const e of entries) {
    const full = path.join(target, e.name);
    if (e.isDirectory()) files.push(...(await manifestFiles(full)));
    else if (MANIFEST_FILE.test(e.name)) files.push(full);
  }
  return files;
}

/** Parses one file's text; JSON is YAML, so one parser serves both. */
export function parseManifest(text: string, file: string): ManifestDocument[] {
  const docs = parseAllDocuments(text, { prettyErrors: true });
  const out: ManifestDocument[] = [];
  const many = Array.isArray(docs) && docs.length > 1;
  for (const [i, doc] of (Array.isArray(docs) ? docs : [docs]).entries()) {
    const source = many ? `${file}#${i + 1}` : file;
    const error = doc.errors[0];
    if (error !== undefined)
      throw new CliError(`${source}: ${error.message.split('\n')[0]!.replace(/:$/, '')}`);
    const object: unknown = doc.toJS();
    if (object === null || object === undefined) continue;
    if (isList(object)) {
      object.items.forEach((item, j) => {
        out.push({ source: `${source} items[${j}]`, object: item });
      });
    } else {
      out.push({ source, object });
    }
  }
  return out;
}

const isList = (v: unknown): v is { items: unknown[] } =>
  typeof v === 'object' &&
  v !== null &&
  (v as { kind?: unknown }).kind === 'List' &&
  Array.isArray((v as { items?: unknown }).items);

/** All documents of a file, a directory tree, or standard input ('-'). */
export async function readManifests(target: string): Promise<ManifestDocument[]> {
  if (target === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return parseManifest(Buffer.concat(chunks).toString('utf8'), '<stdin>');
  }
  const docs: ManifestDocument[] = [];
  for (const file of await manifestFiles(target))
    docs.push(...parseManifest(await readFile(file, 'utf8'), file));
  return docs;
}
