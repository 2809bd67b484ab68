// `trellis policy compile -f DIR|FILE... [--apply] [-o text|json]` and `trellis policy flush`:
// NetworkPolicy documents to ipset / iptables-restore input, optionally applied to the current
// network namespace through the same PolicyApplier the agent uses.
import { type Command, Option } from 'commander';
import { type ApplyReport, PolicyApplier, PolicyApplyError } from '../../../policy/apply/index.js';
import { compileFromDocuments, PolicyValidationError, type RenderedPolicy } from '../../../policy/index.js';
import { commandLogger } from '../context.js';
import { CliError } from '../errors.js';
import { type ManifestDocument, readManifests } from '../manifests.js';

type OutputFormat = 'text' | 'json';

/** The documents of every -f target, in order. */
async function readAll(targets: readonly string[]): Promise<ManifestDocument[]> {
  const docs: ManifestDocument[] = [];
  for (const target of targets) docs.push(...(await readManifests(target)));
  return docs;
}

/** Compiles, or fails with one line naming each bad field by file and path. */
export function compileManifests(docs: readonly ManifestDocument[]): RenderedPolicy {
  try {
    return compileFromDocuments(docs.map((d) => d.object)).rendered;
  } catch (e) {
    if (!(e instanceof PolicyValidationError)) throw e;
    const located = e.issues.map((issue) => {
      // The compiler names `documents[i].<field>`; say which file document i came from.
      const m = /^documents\[(\d+)\]\.?(.*)$/.exec(issue.path);
      const source = m === null ? undefined : docs[Number(m[1])]?.source;
      const where = source === undefined ? issue.path : m![2] === '' ? source : `${source}: ${m![2]}`;
      return `${where}: ${issue.detail}`;
    });
    throw new CliError(`invalid policy input: ${located.join('; ')}`);
  }
}

export function formatText(rendered: RenderedPolicy): string {
  const hooks = [
    ...rendered.v4.hooks.map((h) => `iptables -I ${h.chain} 1 ${h.rule}`),
    ...rendered.v6.hooks.map((h) => `ip6tables -I ${h.chain} 1 ${h.rule}`),
  ];
  // Each restore text ends in a newline, so headers and texts simply follow each other.
  return [
    `### ipset restore (${rendered.sets.length} sets)\n`,
    rendered.ipsetRestore,
    `### iptables-restore --noflush (IPv4 filter, ${rendered.v4.chains.length} chains)\n`,
    rendered.v4.filterRestore,
    `### ip6tables-restore --noflush (IPv6 filter, ${rendered.v6.chains.length} chains)\n`,
    rendered.v6.filterRestore,
    '### hooks (each inserted at the top of its built-in chain if absent)\n',
    `${hooks.join('\n')}\n`,
  ].join('');
}

export function formatJson(rendered: RenderedPolicy, applied: ApplyReport | undefined): string {
  const out = {
    ipsetRestore: rendered.ipsetRestore,
    iptablesRestore: rendered.v4.filterRestore,
    ip6tablesRestore: rendered.v6.filterRestore,
    hooks: { v4: rendered.v4.hooks, v6: rendered.v6.hooks },
    counts: {
      sets: rendered.sets.length,
      chains: { v4: rendered.v4.chains.length, v6: rendered.v6.chains.length },
      rules: {
        v4: rendered.v4.chains.reduce((n, c) => n + c.rules.length, 0),
        v6: rendered.v6.chains.reduce((n, c) => n + c.rules.length, 0),
      },
    },
    ...(applied === undefined ? {} : { applied }),
  };
  return `${JSON.stringify(out, null, 2)}\n`;
}

export function describeReport(verb: string, r: ApplyReport): string {
  return (
    `${verb}: sets ${r.setsCreated.length} created, ${r.setsRefilled.length} refilled, ` +
    `${r.setsDestroyed.length} destroyed; chains ${r.chainsWritten.length} written, ` +
    `${r.chainsDeleted.length} deleted; hooks ${r.hooksInserted} inserted, ${r.hooksDeleted} deleted ` +
    `(${r.commands} commands)`
  );
}

/** Runs an applier call, turning its failure into a one-line CLI error. */
async function applying(work: () => Promise<ApplyReport>): Promise<ApplyReport> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof PolicyApplyError) throw new CliError(e.message);
    throw e;
  }
}

export function register(program: Command): void {
  const policy = program
    .command('policy')
    .description('compile NetworkPolicy to ipset/iptables input; apply or remove it on this node');

  policy
    .command('compile')
    .description(
      'compile Namespace, Pod and NetworkPolicy documents (pods annotated with their host interface are local endpoints)',
    )
    .requiredOption('-f, --filename <paths...>', 'files or directories (recursive, in name order)')
    .option('--apply', 'apply the result in the current network namespace (only what differs is written)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (opts: { filename: string[]; apply?: boolean; output: OutputFormat }, cmd: Command) => {
      const docs = await readAll(opts.filename);
      const rendered = compileManifests(docs);
      const applied =
        opts.apply === true
          ? await applying(async () => {
              const applier = new PolicyApplier({ logger: commandLogger(cmd) });
              const report = await applier.apply(rendered);
              // The command returns once stale chains and sets are gone too, not only once the
              // new ruleset is in force.
              await applier.settled();
              return report;
            })
          : undefined;
      process.stdout.write(opts.output === 'json' ? formatJson(rendered, applied) : formatText(rendered));
      if (applied !== undefined && opts.output === 'text')
        process.stderr.write(`${describeReport('applied', applied)}\n`);
    });

  policy
    .command('flush')
    .description('remove every hook, chain and ipset Trellis owns in the current network namespace')
    .action(async (_opts: unknown, cmd: Command) => {
      const report = await applying(() => new PolicyApplier({ logger: commandLogger(cmd) }).flush());
      process.stdout.write(`${describeReport('flushed', report)}\n`);
    });
}
