// `trellis apply -f FILE|DIR`: all-or-nothing validation, then create-or-update each object.
import { isDeepStrictEqual } from 'node:util';
import type { Command } from 'commander';
import {
  type Datastore,
  isAlreadyExists,
  isConflict,
  isNotFound,
  type ObjectMeta,
  type Resource,
} from '../../datastore/types.js';
import { ValidationError, validateResource } from '../../resources/index.js';
import { withDatastore } from '../context.js';
import { CliError } from '../errors.js';
import { objectRef } from '../kinds.js';
import { readManifests } from '../manifests.js';

export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

/** Attempts per object when another writer keeps winning the compare-and-swap. */
const CAS_ATTEMPTS = 5;

/** Fields the store sets; not part of what a manifest declares. */
const serverFields = ({ resourceVersion, uid, creationTimestamp, ...declared }: ObjectMeta): ObjectMeta =>
  declared;

const sameDeclaredState = (desired: Resource, stored: Resource): boolean =>
  isDeepStrictEqual(
    { ...desired, metadata: serverFields(desired.metadata) },
    { ...stored, metadata: serverFields(stored.metadata) },
  );

/** Creates obj or replaces the stored object's declared state, retrying lost CAS races. */
export async function applyObject(store: Datastore, desired: Resource): Promise<ApplyOutcome> {
  const { kind, metadata } = desired;
  for (let attempt = 1; ; attempt++) {
    try {
      const stored = await store.get<Resource>(kind, metadata.name, metadata.namespace);
      if (stored === undefined) {
        await store.create(desired);
        return 'created';
      }
      if (sameDeclaredState(desired, stored)) return 'unchanged';
      const { resourceVersion, uid, creationTimestamp } = stored.metadata;
      await store.update({
        ...desired,
        metadata: { ...desired.metadata, resourceVersion, uid, creationTimestamp },
      });
      return 'configured';
    } catch (e) {
      const raced = isConflict(e) || isAlreadyExists(e) || isNotFound(e);
      if (!raced || attempt === CAS_ATTEMPTS) throw e;
    }
  }
}

/** Validates every document; the list of failures is empty when all are valid. */
export function validateAll(docs: readonly { source: string; object: unknown }[]): {
  valid: Resource[];
  failures: string[];
} {
  const valid: Resource[] = [];
  const failures: string[] = [];
  for (const doc of docs) {
    try {
      valid.push(validateResource(doc.object));
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      failures.push(`${doc.source}: ${e.message}`);
    }
  }
  return { valid, failures };
}

export function register(program: Command): void {
  program
    .command('apply')
    .description(
      'create or update resources from YAML/JSON files; nothing is applied if any document is invalid',
    )
    .requiredOption('-f, --filename <path>', "file, directory (recursive, in name order) or '-' for stdin")
    .action(async (opts: { filename: string }, cmd: Command) => {
      const docs = await readManifests(opts.filename);
      if (docs.length === 0) throw new CliError(`${opts.filename}: no objects to apply`);
      const { valid, failures } = validateAll(docs);
      if (failures.length > 0) {
        throw new CliError(
          `${failures.join('\nerror: ')}\nerror: nothing applied: ${failures.length} of ${docs.length} documents are invalid`,
        );
      }
      await withDatastore(cmd, async (store) => {
        for (const obj of valid) process.stdout.write(`${objectRef(obj)} ${await applyObject(store, obj)}\n`);
      });
    });
}
