import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  identify,
  isRunning,
  Lab,
  LabCommandError,
  LabInputError,
  LabTornDownError,
  listLabNamespaces,
  requireRoot,
} from './helpers.js';

describe('lab (root)', () => {
  let lab: Lab;

  beforeEach(async function () {
    requireRoot(this);
    lab = await Lab.create();
  });

  afterEach(async () => {
    await lab?.teardown();
  });

  /** Interface names per lab namespace, from the kernel. */
  async function links(ns: string): Promise<string[]> {
    const r = await lab.exec(ns, 'ip', ['-j', 'link', 'show']);
    return (JSON.parse(r.stdout) as Array<{ ifname: string }>).map((l) => l.ifname).sort();
  }

  it('routes between two pods on two nodes (only lab-internal addresses)', async () => {
    const forwarding = { sysctls: { 'net.ipv4.ip_forward': 1, 'net.ipv6.conf.all.forwarding': 1 } };
    await lab.addNamespaces(['node1', 'node2'], forwarding);
    await lab.addNamespaces(['pod1', 'pod2']);
    await lab.connect({
      a: { ns: 'node1', ifname: 'eth0', address: ['10.250.0.1/30', 'fd00:250::1/64'] },
      b: { ns: 'node2', ifname: 'eth0', address: ['10.250.0.2/30', 'fd00:250::2/64'] },
      mtu: 1450,
    });
    await lab.connect({
      a: { ns: 'pod1', ifname: 'eth0', address: '10.65.1.2/24' },
      b: { ns: 'node1', ifname: 'cali1', address: '10.65.1.1/24' },
    });
    await lab.connect({
      a: { ns: 'pod2', ifname: 'eth0', address: '10.65.2.2/24' },
      b: { ns: 'node2', ifname: 'cali1', address: '10.65.2.1/24' },
    });
    await Promise.all([
      lab.ip('pod1', ['route add default via 10.65.1.1']),
      lab.ip('pod2', ['route add default via 10.65.2.1']),
      lab.ip('node1', ['route add 10.65.2.0/24 via 10.250.0.2']),
      lab.ip('node2', ['route add 10.65.1.0/24 via 10.250.0.1']),
    ]);

    const there = await lab.exec('pod1', 'ping', ['-c', '1', '-W', '2', '10.65.2.2']);
    // ttl 64 minus two routed hops (node1, node2): the packet really crossed both nodes.
    assert.match(there.stdout, /from 10\.65\.2\.2: icmp_seq=1 ttl=62/);
    const back = await lab.exec('pod2', 'ping', ['-c', '1', '-W', '2', '10.65.1.2']);
    assert.match(back.stdout, /ttl=62/);
    const v6 = await lab.exec('node1', 'ping', ['-6', '-c', '1', '-W', '2', 'fd00:250::2']);
    assert.match(v6.stdout, /1 received/);

    const forward = await lab.exec('node1', 'sysctl', ['-n', 'net.ipv4.ip_forward']);
    assert.equal(forward.stdout.trim(), '1');
    const mtu = await lab.exec('node2', 'cat', ['/sys/class/net/eth0/mtu']);
    assert.equal(mtu.stdout.trim(), '1450');
    assert.deepEqual(await links('node1'), ['cali1', 'eth0', 'lo']);
  });

  it('builds a shared L2 segment on a bridge in a fabric namespace', async () => {
    await lab.addNamespaces(['tor', 'n1', 'n2', 'n3']);
    await lab.addBridgeSegment(
      'tor',
      'br0',
      ['n1', 'n2', 'n3'].map((ns, i) => ({ ns, ifname: 'eth0', address: `10.250.0.${11 + i}/24` })),
    );
    assert.deepEqual(await links('tor'), ['br0', 'br0p0', 'br0p1', 'br0p2', 'lo']);
    const ports = await lab.exec('tor', 'ip', ['-j', 'link', 'show', 'master', 'br0']);
    assert.equal((JSON.parse(ports.stdout) as unknown[]).length, 3);
    for (const [from, to] of [
      ['n1', '10.250.0.13'],
      ['n3', '10.250.0.12'],
    ] as const) {
      const r = await lab.exec(from, 'ping', ['-c', '1', '-W', '2', to]);
      assert.match(r.stdout, /ttl=64/, `${from} -> ${to}`);
    }
  });

  it('exec returns output and exit code, and rejects with a precise error', async () => {
    await lab.addNamespace('a');
    const ok = await lab.exec('a', 'sh', ['-c', 'cat; echo err >&2'], { input: 'hello' });
    assert.deepEqual(ok, { stdout: 'hello', stderr: 'err', exitCode: 0 });
    const env = await lab.exec('a', 'sh', ['-c', 'echo "$LAB_X"'], { env: { LAB_X: 'x2' } });
    assert.equal(env.stdout, 'x2');
    const failed = await lab.exec('a', 'sh', ['-c', 'exit 3'], { allowFailure: true });
    assert.equal(failed.exitCode, 3);
    await assert.rejects(lab.exec('a', 'sh', ['-c', 'echo nope >&2; exit 4']), (err: unknown) => {
      assert.ok(err instanceof LabCommandError);
      assert.equal(err.exitCode, 4);
      assert.equal(err.ns, lab.nsName('a'));
      assert.match(err.message, /namespace t\w+-a failed \(exit code 4\): nope/);
      return true;
    });
    await assert.rejects(lab.exec('a', 'sleep', ['5'], { timeoutMs: 100 }), /timeout/);
    await assert.rejects(lab.exec('a', 'no-such-command-x'), LabCommandError);
  });

  it('names the failing command of an ip batch', async () => {
    await lab.addNamespace('a');
    await assert.rejects(
      lab.ip('a', ['link set dev lo up', 'route add 10.9.0.0/24 via 10.8.0.1']),
      (err: unknown) => {
        assert.ok(err instanceof LabCommandError);
        assert.equal(err.batchLine, 1);
        assert.match(err.message, /\[ip route add 10\.9\.0\.0\/24 via 10\.8\.0\.1\]/);
        return true;
      },
    );
  });

  it('rejects bad input with LabInputError and changes nothing', async () => {
    await lab.addNamespaces(['a', 'b']);
    await lab.connect({ a: { ns: 'a', ifname: 'eth0' }, b: { ns: 'b', ifname: 'eth0' } });
    const before = { a: await links('a'), b: await links('b'), state: readFileSync(lab.statePath, 'utf8') };
    const bad: Array<[string, () => Promise<unknown>]> = [
      ['unknown ns', () => lab.connect({ a: { ns: 'a', ifname: 'x1' }, b: { ns: 'zz', ifname: 'x1' } })],
      [
        'long ifname',
        () => lab.connect({ a: { ns: 'a', ifname: 'x'.repeat(16) }, b: { ns: 'b', ifname: 'x1' } }),
      ],
      [
        'bad cidr',
        () =>
          lab.connect({
            a: { ns: 'a', ifname: 'x1', address: '10.0.0.300/24' },
            b: { ns: 'b', ifname: 'x1' },
          }),
      ],
      [
        'no prefix len',
        () =>
          lab.connect({ a: { ns: 'a', ifname: 'x1', address: '10.0.0.1' }, b: { ns: 'b', ifname: 'x1' } }),
      ],
      ['taken ifname', () => lab.connect({ a: { ns: 'a', ifname: 'x1' }, b: { ns: 'b', ifname: 'eth0' } })],
      ['same end twice', () => lab.connect({ a: { ns: 'a', ifname: 'x1' }, b: { ns: 'a', ifname: 'x1' } })],
      ['bad mtu', () => lab.connect({ a: { ns: 'a', ifname: 'x1' }, b: { ns: 'b', ifname: 'x1' }, mtu: 20 })],
      ['dup namespace', () => lab.addNamespace('a')],
      ['dup in batch', () => lab.addNamespaces(['c', 'c'])],
      ['bad ns name', () => lab.addNamespace('c/d')],
      ['bad sysctl', () => lab.addNamespace('c', { sysctls: { 'net.ipv4.ip_forward': '1 2' } })],
      ['port clash', () => lab.addBridgeSegment('a', 'br0', [{ ns: 'b', ifname: 'x1', portName: 'eth0' }])],
      ['unknown ns exec', () => lab.exec('zz', 'true')],
    ];
    for (const [what, call] of bad) await assert.rejects(call, LabInputError, what);
    assert.deepEqual(
      { a: await links('a'), b: await links('b'), state: readFileSync(lab.statePath, 'utf8') },
      before,
    );
    await assert.rejects(Lab.create({ prefix: 'Bad-Prefix' }), LabInputError);
    await assert.rejects(Lab.create({ prefix: lab.prefix }), LabInputError);
  });

  it('rolls back exactly what a failed kernel command created', async () => {
    await lab.addNamespaces(['a', 'b']);
    await lab.ip('b', ['link add name mine type bridge']);
    // The peer name clashes with a link made by hand: the veth is never created, and the
    // hand-made link must survive the rollback.
    await assert.rejects(
      lab.connect({ a: { ns: 'a', ifname: 'eth0' }, b: { ns: 'b', ifname: 'mine' } }),
      LabCommandError,
    );
    // IPv6 needs MTU >= 1280, so the address fails after the veth exists: the veth goes away.
    await assert.rejects(
      lab.connect({
        a: { ns: 'a', ifname: 'eth1', address: 'fd00::1/64' },
        b: { ns: 'b', ifname: 'eth1' },
        mtu: 600,
      }),
      LabCommandError,
    );
    assert.deepEqual(await links('a'), ['lo']);
    assert.deepEqual(await links('b'), ['lo', 'mine']);
    // The failed calls did not reserve names: the same names work once the clash is gone.
    await lab.ip('b', ['link del mine']);
    await lab.connect({ a: { ns: 'a', ifname: 'eth1' }, b: { ns: 'b', ifname: 'mine' } });
    assert.deepEqual(await links('b'), ['lo', 'mine']);
  });

  it('a failed namespace setup removes the namespace and its state entry', async () => {
    await assert.rejects(lab.addNamespace('c', { sysctls: { 'net.no.such.key': 1 } }), LabCommandError);
    assert.equal(existsSync(`/run/netns/${lab.nsName('c')}`), false);
    assert.deepEqual(lab.namespaces, []);
    assert.doesNotMatch(readFileSync(lab.statePath, 'utf8'), /-c"/);
    await lab.addNamespace('c');
  });

  it('teardown stops spawned processes, escalating to SIGKILL, and kills untracked ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-lab-log-'));
    try {
      const graceful = await Lab.create({ graceMs: 200 });
      try {
        await graceful.addNamespace('a');
        const logFile = join(dir, 'out.log');
        const sleeper = await graceful.spawn('a', 'sleep', ['1000']);
        const stubborn = await graceful.spawn(
          'a',
          'sh',
          ['-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done'],
          {
            logFile,
          },
        );
        // Not tracked: only `ip netns pids` can find it. (setsid execs in place here, so $! is sleep.)
        const stray = await graceful.exec('a', 'sh', [
          '-c',
          'setsid sleep 1001 >/dev/null 2>&1 </dev/null & echo $!',
        ]);
        const strayProcess = identify(Number(stray.stdout.trim()));
        assert.ok(strayProcess !== undefined);
        await waitFor(() => readFileSync(logFile, 'utf8').includes('ready'));
        assert.ok(isRunning(sleeper) && isRunning(stubborn));

        await graceful.teardown();
        assert.equal(isRunning(sleeper), false);
        assert.equal(isRunning(stubborn), false);
        assert.equal(isRunning(strayProcess), false);
        assert.deepEqual(await sleeper.exited, { exitCode: null, signal: 'SIGTERM' });
        assert.deepEqual(await stubborn.exited, { exitCode: null, signal: 'SIGKILL' });
      } finally {
        await graceful.teardown();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stop() ends one process; exited processes leave the state file', async () => {
    await lab.addNamespace('a');
    const p = await lab.spawn('a', 'sleep', ['1000']);
    const quick = await lab.spawn('a', 'true');
    assert.deepEqual(await quick.exited, { exitCode: 0, signal: null });
    await lab.stop(p);
    assert.equal(isRunning(p), false);
    assert.deepEqual(JSON.parse(readFileSync(lab.statePath, 'utf8')).processes, []);
    // `ip netns exec` starts fine and then fails to exec: a non-zero exit and a logged reason.
    const dir = mkdtempSync(join(tmpdir(), 'trellis-lab-log-'));
    try {
      const logFile = join(dir, 'missing.log');
      const missing = await lab.spawn('a', 'no-such-command-x', [], { logFile });
      const exit = await missing.exited;
      assert.notEqual(exit.exitCode, 0);
      assert.match(readFileSync(logFile, 'utf8'), /no-such-command-x/);
      const envLog = join(dir, 'env.log');
      const withEnv = await lab.spawn('a', 'sh', ['-c', 'echo "$LAB_X $HOME"'], {
        logFile: envLog,
        env: { LAB_X: 'x1' },
      });
      await withEnv.exited;
      assert.equal(readFileSync(envLog, 'utf8'), `x1 ${process.env['HOME']}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('teardown is idempotent and the lab is unusable afterwards', async () => {
    await lab.addNamespaces(['a', 'b']);
    await lab.spawn('a', 'sleep', ['1000']);
    await Promise.all([lab.teardown(), lab.teardown()]);
    await lab.teardown();
    lab.teardownSync();
    assert.deepEqual(listLabNamespaces(lab.prefix), []);
    assert.equal(existsSync(lab.statePath), false);
    await assert.rejects(lab.addNamespace('c'), LabTornDownError);
    await assert.rejects(lab.exec('a', 'true'), LabTornDownError);
  });
});

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
