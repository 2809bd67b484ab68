// Cleanup must run both asynchronously (normal teardown) and synchronously (inside a process
// 'exit' handler, where no promise ever settles). So cleanup procedures are written once, as
// generators that yield the effects they need, and a driver of each kind performs them.
import { spawnSync } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { execa } from 'execa';

export type Effect =
  | { kind: 'run'; file: string; args: readonly string[]; input?: string }
  | { kind: 'sleep'; ms: number };

export interface RunResult {
  /** undefined when the command could not be started or was killed by a signal. */
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

/** What a yielded effect returns to the procedure: a RunResult for 'run', nothing for 'sleep'. */
export type EffectResult = RunResult | undefined;

export type Procedure<T> = Generator<Effect, T, EffectResult>;

/** Yields a 'run' effect and hands back its typed result. */
export function* run(file: string, args: readonly string[], input?: string): Procedure<RunResult> {
  const result = yield input === undefined ? { kind: 'run', file, args } : { kind: 'run', file, args, input };
  return result as RunResult;
}

export function* sleep(ms: number): Procedure<void> {
  yield { kind: 'sleep', ms };
}

const SLEEP_CELL = new Int32Array(new SharedArrayBuffer(4));

export function performSync<T>(procedure: Procedure<T>): T {
  let step = procedure.next();
  while (!step.done) {
    const effect = step.value;
    if (effect.kind === 'sleep') {
      Atomics.wait(SLEEP_CELL, 0, 0, effect.ms);
      step = procedure.next(undefined);
    } else {
      const r = spawnSync(effect.file, effect.args, { input: effect.input ?? '', encoding: 'utf8' });
      step = procedure.next({
        exitCode: r.status ?? undefined,
        stdout: r.stdout ?? '',
        stderr: r.stderr ?? '',
      });
    }
  }
  return step.value;
}

export async function performAsync<T>(procedure: Procedure<T>): Promise<T> {
  let step = procedure.next();
  while (!step.done) {
    const effect = step.value;
    if (effect.kind === 'sleep') {
      await delay(effect.ms);
      step = procedure.next(undefined);
    } else {
      const r = await execa(effect.file, effect.args, { input: effect.input ?? '', reject: false });
      step = procedure.next({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr });
    }
  }
  return step.value;
}
