// `trellis get KIND [NAME] -o table|yaml|json`
import { type Command, Option } from 'commander';
import type { Resource } from '../../datastore/types.js';
import { withDatastore } from '../context.js';
import { CliError } from '../errors.js';
import { resolveKind } from '../kinds.js';
import { OUTPUT_FORMATS, parseOutputFormat, renderObjects, renderTable } from '../output.js';

interface GetOptions {
  output: string;
  namespace?: string;
}

export function register(program: Command): void {
  program
    .command('get')
    .description('show resources; KIND is a kind, plural, singular or short name, in any case')
    .argument('<kind>')
    .argument('[name]')
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('table'))
    .option(
      '-n, --namespace <namespace>',
      'namespace for namespaced kinds (default: all for lists, "default" by name)',
    )
    .action(async (kindName: string, name: string | undefined, opts: GetOptions, cmd: Command) => {
      const info = resolveKind(kindName);
      const format = parseOutputFormat(opts.output);
      const items = await withDatastore(cmd, async (store): Promise<Resource[]> => {
        if (name === undefined) {
          return (
            await store.list<Resource>(
              info.kind,
              opts.namespace !== undefined ? { namespace: opts.namespace } : {},
            )
          ).items;
        }
        const namespace = info.namespaced ? (opts.namespace ?? 'default') : undefined;
        const obj = await store.get<Resource>(info.kind, name, namespace);
        if (obj === undefined) throw new CliError(`${info.singular} "${name}" not found`);
        return [obj];
      });
      process.stdout.write(
        format === 'table' ? renderTable(info, items) : renderObjects(format, items, name !== undefined),
      );
    });
}
