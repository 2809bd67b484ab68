import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import {
  cleanupAll,
  cleanupByPrefix,
  cleanupStale,
  describeLeftovers,
  findLeftovers,
  hasLeftovers,
  isRunning,
  Lab,
  labDown,
  listLabNamespaces,
  makeRunPrefix,
  type RunToCheck,
  requireRoot,
} from './helpers.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/lab-child.js', import.meta.url));

interface Child {
  process: ChildProcess;
  /** What the child reported about its lab. */
  run: Promise<RunToCheck>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function startChild(mode: string, stateDir?: string): Child {
  const child = spawn(process.execPath, [FIXTURE, mode, ...(stateDir === undefined ? [] : [stateDir])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.once('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  const run = new Promise<RunToCheck>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line !== undefined) resolve(JSON.parse(line) as RunToCheck);
    });
    void exit.then((e) =>
      reject(new Error(`child exited before reporting its lab: ${e.code} ${e.signal} ${e.stderr}`)),
    );
  });
  return { process: child, run, exit };
}

function assertNothingLeft(run: RunToCheck): void {
  const leftovers = findLeftovers([run]);
  assert.ok(!hasLeftovers(leftovers), describeLeftovers(leftovers));
}

describe('lab cleanup (root)', function () {
  this.timeout(30000);
  let stateDir: string;
  /** Runs made by child processes or by hand; removed whatever a test did. */
  const extraRuns: RunToCheck[] = [];

  beforeEach(function () {
    requireRoot(this);
    stateDir = mkdtempSync('/tmp/trellis-lab-cleanup-');
  });

  afterEach(async () => {
    for (const run of extraRuns.splice(0))
      await cleanupByPrefix(run.prefix, { stateDir: join(run.statePath, '..') });
    if (stateDir !== undefined) rmSync(stateDir, { recursive: true, force: true });
  });

  for (const [mode, what] of [
    ['throw', 'an uncaught exception'],
    ['reject', 'an unhandled rejection'],
  ] as const) {
    it(`a child that dies of ${what} leaves nothing behind`, async () => {
      const child = startChild(mode);
      const run = await child.run;
      extraRuns.push(run);
      const exit = await child.exit;
      assert.equal(exit.code, 1);
      assert.match(exit.stderr, /fixture: /);
      assertNothingLeft(run);
    });
  }

  it('a child stopped by SIGTERM tears its lab down and still dies of SIGTERM', async () => {
    const child = startChild('wait');
    const run = await child.run;
    extraRuns.push(run);
    assert.equal(listLabNamespaces(run.prefix).length, 2);
    child.process.kill('SIGTERM');
    const exit = await child.exit;
    assert.equal(exit.signal, 'SIGTERM');
    assertNothingLeft(run);
  });

  it('SIGKILL leaves a stale run that cleanupStale removes completely', async () => {
    const child = startChild('wait', stateDir);
    const run = await child.run;
    extraRuns.push(run);
    child.process.kill('SIGKILL');
    await child.exit;
    // The owner could not clean up: everything is still there, the sleeper reparented.
    assert.deepEqual(listLabNamespaces(run.prefix), [`${run.prefix}-a`, `${run.prefix}-b`]);
    assert.ok(existsSync(run.statePath));
    assert.ok(run.processes.every(isRunning));

    const report = await cleanupStale({ stateDir });
    assert.deepEqual(report.removed, [run.prefix]);
    assert.deepEqual(report.incomplete, []);
    assertNothingLeft(run);
  });

  it('a detached lab outlives its creator, is not stale, and goes with labDown(prefix)', async () => {
    const child = startChild('detached', stateDir);
    const run = await child.run;
    extraRuns.push(run);
    assert.equal((await child.exit).code, 0);
    assert.ok(run.processes.every(isRunning));

    const stale = await cleanupStale({ stateDir });
    assert.deepEqual(stale.removed, []);
    assert.deepEqual(stale.kept, [{ path: run.statePath, reason: 'detached lab' }]);
    assert.equal(listLabNamespaces(run.prefix).length, 2);

    const down = await labDown(run.prefix, { stateDir });
    assert.deepEqual(down.removed, [run.prefix]);
    assertNothingLeft(run);
  });

  it('cleanupByPrefix finds namespaces without a state file', async () => {
    const prefix = makeRunPrefix();
    const run = { prefix, statePath: join(stateDir, `${prefix}.json`), processes: [] };
    extraRuns.push(run);
    await execa('ip', ['-batch', '-'], { input: `netns add ${prefix}-x\nnetns add ${prefix}-y\n` });
    const report = await cleanupByPrefix(prefix, { stateDir });
    assert.deepEqual(report.removed, [prefix]);
    assertNothingLeft(run);
    assert.deepEqual((await cleanupByPrefix(prefix, { stateDir })).removed, []);
  });

  it('cleanupAll removes marked orphans, never live runs or unmarked namespaces', async () => {
    const live = await Lab.create({ stateDir });
    const orphaned = await Lab.create({ stateDir });
    const unmarked = makeRunPrefix();
    extraRuns.push({ prefix: unmarked, statePath: join(stateDir, `${unmarked}.json`), processes: [] });
    try {
      await live.addNamespace('a');
      await orphaned.addNamespace('a');
      // The state file is lost; only the loopback marker still ties the namespace to a lab.
      rmSync(orphaned.statePath);
      // Fits the naming scheme but carries no marker: somebody else's, so it must survive.
      await execa('ip', ['netns', 'add', `${unmarked}-plain`]);

      const report = await cleanupAll({ stateDir });
      assert.ok(report.orphans.includes(orphaned.nsName('a')), JSON.stringify(report));
      assert.ok(!report.orphans.includes(`${unmarked}-plain`));
      assert.deepEqual(listLabNamespaces(unmarked), [`${unmarked}-plain`]);
      assert.deepEqual(report.kept, [{ path: live.statePath, reason: `owner pid ${process.pid} is alive` }]);
      assert.deepEqual(listLabNamespaces(live.prefix), [live.nsName('a')]);
      assert.deepEqual(listLabNamespaces(orphaned.prefix), []);
    } finally {
      await live.teardown();
      await orphaned.teardown();
    }
  });
});
