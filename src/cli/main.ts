#!/usr/bin/env node
// The `trellis` command. Each command group lives in its own module and registers itself; to
// add a group (bgp, policy, lab, agent), write `register(program)` in its module and list it
// in COMMAND_GROUPS.
import { Command, CommanderError, Option } from 'commander';
import { register as registerAgent } from '../../agent/daemon/command.js';
import { register as registerLab } from '../../agent/lab/command.js';
import { register as registerApply } from './commands/apply.js';
import { register as registerBgp } from './commands/bgp.js';
import { register as registerDelete } from './commands/delete.js';
import { register as registerGet } from './commands/get.js';
import { register as registerPolicy } from './commands/policy.js';
import { register as registerVersion } from './commands/version.js';
import { DEFAULT_DATASTORE_DIR } from './context.js';
import { CliError } from './errors.js';

const COMMAND_GROUPS: readonly ((program: Command) => void)[] = [
  registerVersion,
  registerApply,
  registerGet,
  registerDelete,
  registerPolicy,
  registerAgent,
  registerLab,
  registerBgp,
];

function buildProgram(): Command {
  const program = new Command('trellis')
    .description('Trellis: routed layer-3 pod networking with BGP and NetworkPolicy')
    .addOption(
      new Option('--datastore <dir>', 'embedded datastore directory')
        .env('TRELLIS_DATASTORE')
        .default(DEFAULT_DATASTORE_DIR),
    )
    .addOption(
      new Option('--log-level <level>', 'trace|debug|info|warn|error|silent').env('TRELLIS_LOG_LEVEL'),
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  // Subcommands inherit exitOverride and showHelpAfterError from here.
  for (const register of COMMAND_GROUPS) register(program);
  return program;
}

/** Runs the CLI and returns the exit code: 0 ok, 1 failed operation, 2 usage error. */
async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander printed its message already; help and version requests are not failures.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof CliError) {
      process.stderr.write(`error: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

process.exitCode = await run(process.argv.slice(2));
