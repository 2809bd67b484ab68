// `trellis delete KIND NAME` / `trellis delete -f FILE`
import type { Command } from 'commander';
import { isNotFound } from '../../datastore/types.js';
import { withDatastore } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { resolveKind } from '../kinds.js';
import { readManifests } from '../manifests.js';

interface Target {
  kind: string;
  singular: string;
  name: string;
  namespace: string | undefined;
}

interface DeleteOptions {
  filename?: string;
  namespace?: string;
  ignoreNotFound?: boolean;
}

/** Kind and name of each document; the rest of a manifest does not matter for deletion. */
async function targetsFromFile(file: string): Promise<Target[]> {
  return (await readManifests(file)).map(({ source, object }) => {
    const o = (typeof object === 'object' && object !== null ? object : {}) as {
      kind?: unknown;
      metadata?: { name?: unknown; namespace?: unknown };
    };
    if (typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string') {
      throw new CliError(`${source}: needs kind and metadata.name`);
    }
    const info = resolveKind(o.kind);
    const namespace = typeof o.metadata.namespace === 'string' ? o.metadata.namespace : undefined;
    return { kind: info.kind, singular: info.singular, name: o.metadata.name, namespace };
  });
}

export function register(program: Command): void {
  program
    .command('delete')
    .description('delete resources by kind and name, or those named in a file')
    .argument('[kind]')
    .argument('[name]')
    .option('-f, --filename <path>', 'delete the objects named in this file or directory')
    .option('-n, --namespace <namespace>', 'namespace for namespaced kinds', 'default')
    .option('--ignore-not-found', 'succeed when an object does not exist')
    .action(
      async (kindName: string | undefined, name: string | undefined, opts: DeleteOptions, cmd: Command) => {
        let targets: Target[];
        if (opts.filename !== undefined) {
          if (kindName !== undefined) throw new UsageError('give either -f or KIND NAME, not both');
          targets = await targetsFromFile(opts.filename);
        } else {
          if (kindName === undefined || name === undefined)
            throw new UsageError('delete needs KIND NAME or -f FILE');
          const info = resolveKind(kindName);
          targets = [
            {
              kind: info.kind,
              singular: info.singular,
              name,
              namespace: info.namespaced ? opts.namespace : undefined,
            },
          ];
        }
        const missing: string[] = [];
        await withDatastore(cmd, async (store) => {
          for (const t of targets) {
            try {
              await store.delete(t.kind, t.name, t.namespace);
              process.stdout.write(`${t.singular}/${t.name} deleted\n`);
            } catch (e) {
              if (!isNotFound(e)) throw e;
              if (!opts.ignoreNotFound) missing.push(`${t.singular} "${t.name}" not found`);
            }
          }
        });
        if (missing.length > 0) throw new CliError(missing.join('\nerror: '));
      },
    );
}
