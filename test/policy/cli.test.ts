// `trellis policy compile|flush` as a process. The --apply and flush cases run the CLI inside a
// fresh network namespace of their own (root only), deleted afterwards.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { compileFromDocuments } from '../../policy/documents.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const isRoot = process.getuid?.() === 0;

const NAMESPACE = { kind: 'Namespace', metadata: { name: 'x' } };
const POD = {
  kind: 'Pod',
  metadata: {
    namespace: 'x',
    name: 'a',
    labels: { app: 'a' },
    annotations: { 'trellis.network/host-interface': 'trlca' },
  },
  spec: { containers: [{ name: 'c' }] },
  status: { podIPs: [{ ip: '10.98.0.1' }, { ip: 'fd98::1' }] },
};
const POLICY = {
  kind: 'NetworkPolicy',
  metadata: { namespace: 'x', name: 'web' },
  spec: {
    podSelector: { matchLabels: { app: 'a' } },
    ingress: [
      { from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }], ports: [{ port: 80 }] },
    ],
  },
};
const BAD_POLICY = {
  kind: 'NetworkPolicy',
  metadata: { namespace: 'x', name: 'bad' },
  spec: {
    podSelector: {},
    ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/24', except: ['10.1.0.0/16'] } }] }],
  },
};

describe('cli: trellis policy (as a process)', function () {
  this.timeout(30000);
  let dir: string;

  const trellis = async (args: string[], netns?: string) => {
    const argv = ['node', MAIN, ...args];
    const [cmd, ...rest] = netns === undefined ? argv : ['ip', 'netns', 'exec', netns, ...argv];
    const r = await execa(cmd!, rest, { reject: false, stripFinalNewline: false });
    return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
  };

  const manifest = async (name: string, docs: readonly unknown[]): Promise<string> => {
    const file = path.join(dir, name);
    await writeFile(file, docs.map((d) => stringify(d)).join('---\n'));
    return file;
  };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'trellis-policy-cli-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('compile prints the ipset input, both restore inputs and the hooks, in separate sections', async () => {
    await manifest('a-cluster.yaml', [NAMESPACE, POD]);
    await manifest('b-policy.yaml', [POLICY]);
    const { rendered } = compileFromDocuments([NAMESPACE, POD, POLICY]);
    const text = await trellis(['policy', 'compile', '-f', dir]);
    assert.equal(text.code, 0, text.stderr);
    const sections = text.stdout.split(/^### .*\n/m);
    assert.deepEqual(text.stdout.match(/^### \S+/gm), [
      '### ipset',
      '### iptables-restore',
      '### ip6tables-restore',
      '### hooks',
    ]);
    assert.equal(sections[1], rendered.ipsetRestore);
    assert.equal(sections[2], rendered.v4.filterRestore);
    assert.equal(sections[3], rendered.v6.filterRestore);
    assert.equal(
      sections[4],
      `iptables -I FORWARD 1 ${rendered.v4.hooks[0]!.rule}\nip6tables -I FORWARD 1 ${rendered.v6.hooks[0]!.rule}\n`,
    );

    const json = await trellis([
      'policy',
      'compile',
      '-f',
      path.join(dir, 'a-cluster.yaml'),
      path.join(dir, 'b-policy.yaml'),
      '-o',
      'json',
    ]);
    assert.equal(json.code, 0, json.stderr);
    const out = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.equal(out['ipsetRestore'], rendered.ipsetRestore);
    assert.equal(out['iptablesRestore'], rendered.v4.filterRestore);
    assert.equal(out['ip6tablesRestore'], rendered.v6.filterRestore);
    assert.equal(out['applied'], undefined);
  });

  it('bad input: one line naming the file and field, exit 1, nothing printed', async () => {
    const file = await manifest('bad.yaml', [NAMESPACE, BAD_POLICY]);
    const r = await trellis(['policy', 'compile', '-f', file]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      `error: invalid policy input: ${file}#2: spec.ingress[0].from[0].ipBlock.except[0]: 10.1.0.0/16 is not inside cidr 10.0.0.0/24 (must be a strict subset)\n`,
    );
    const usage = await trellis(['policy', 'compile', '-f', file, '-o', 'yaml']);
    assert.equal(usage.code, 2);
  });

  describe('--apply and flush in a network namespace (root)', () => {
    const netns = `trlpa-${process.pid}-cli`;
    const inNs = (cmd: string, args: string[]) =>
      execFileSync('ip', ['netns', 'exec', netns, cmd, ...args], { encoding: 'utf8' });
    const snapshot = () =>
      [
        inNs('iptables-save', ['-t', 'filter']),
        inNs('ip6tables-save', ['-t', 'filter']),
        inNs('ipset', ['save']),
      ]
        .join('\n')
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .map((l) => l.replace(/\[\d+:\d+\]$/, ''))
        .join('\n');

    before(function () {
      if (!isRoot) {
        console.log('    (skipped: needs root to create network namespaces)');
        this.skip();
      }
      execFileSync('ip', ['netns', 'add', netns]);
    });

    after(() => {
      if (isRoot) execFileSync('ip', ['netns', 'del', netns], { stdio: 'ignore' });
    });

    it('applies, refuses bad input leaving the ruleset untouched, and flushes', async () => {
      const good = await manifest('good.yaml', [NAMESPACE, POD, POLICY]);
      const applied = await trellis(['policy', 'compile', '-f', good, '--apply', '-o', 'json'], netns);
      assert.equal(applied.code, 0, applied.stderr);
      const report = (JSON.parse(applied.stdout) as { applied: { hooksInserted: number } }).applied;
      assert.equal(report.hooksInserted, 2);
      assert.match(
        inNs('iptables-save', ['-t', 'filter']),
        /^-A FORWARD -m comment --comment "trl:[0-9a-f]+" -j trl-FORWARD$/m,
      );
      const before = snapshot();

      const again = await trellis(['policy', 'compile', '-f', good, '--apply'], netns);
      assert.equal(again.code, 0, again.stderr);
      assert.match(
        again.stderr,
        /^applied: sets 0 created, 0 refilled, 0 destroyed; chains 0 written, 0 deleted; hooks 0 inserted, 0 deleted \(3 commands\)$/m,
      );

      const bad = await manifest('bad.yaml', [NAMESPACE, POD, BAD_POLICY]);
      const refused = await trellis(['policy', 'compile', '-f', bad, '--apply'], netns);
      assert.equal(refused.code, 1);
      assert.equal(refused.stderr.split('\n').length, 2, refused.stderr);
      assert.match(refused.stderr, /spec\.ingress\[0\]\.from\[0\]\.ipBlock\.except\[0\]/);
      assert.equal(snapshot(), before);

      const flushed = await trellis(['policy', 'flush'], netns);
      assert.equal(flushed.code, 0, flushed.stderr);
      assert.doesNotMatch(snapshot(), /trl/);
      const twice = await trellis(['policy', 'flush'], netns);
      assert.equal(twice.code, 0, twice.stderr);
      assert.match(twice.stdout, /chains 0 written, 0 deleted; hooks 0 inserted, 0 deleted \(3 commands\)/);
    });
  });
});
