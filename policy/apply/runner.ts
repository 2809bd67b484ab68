// How the applier starts kernel tools. Injectable so tests can count (or fake) invocations.
import { execa } from 'execa';

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs `command args...` with `input` on stdin; resolves with the exit code instead of throwing. */
export type CommandRunner = (
  command: string,
  args: readonly string[],
  input?: string,
) => Promise<CommandResult>;

/** iptables-save of a busy node runs to tens of megabytes. */
const MAX_OUTPUT_BYTES = 1 << 30;

export const execaRunner: CommandRunner = async (command, args, input) => {
  const r = await execa(command, [...args], {
    reject: false,
    stripFinalNewline: false,
    maxBuffer: MAX_OUTPUT_BYTES,
    ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
  });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
};

/** Runs every command inside network namespace `netns` (`ip netns exec`), or here if undefined. */
export function inNetns(runner: CommandRunner, netns: string | undefined): CommandRunner {
  if (netns === undefined) return runner;
  return (command, args, input) => runner('ip', ['netns', 'exec', netns, command, ...args], input);
}
