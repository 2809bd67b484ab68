import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { parse, parseAllDocuments, stringify } from 'yaml';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

const pool = (name: string, spec: Record<string, unknown>): Record<string, unknown> => ({
  apiVersion: 'trellis.network/v1',
  kind: 'IPPool',
  metadata: { name },
  spec,
});

describe('cli (trellis as a process)', function () {
  this.timeout(30000);
  let dir: string;
  let store: string;

  const trellis = async (...args: string[]): Promise<RunResult> => {
    const r = await execa('node', [MAIN, '--datastore', store, ...args], {
      reject: false,
      stripFinalNewline: false,
    });
    return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
  };

  /** Writes documents as a YAML stream and returns the file path. */
  const manifest = async (name: string, docs: readonly unknown[]): Promise<string> => {
    const file = path.join(dir, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, docs.map((d) => stringify(d)).join('---\n'));
    return file;
  };

  const storedPools = async (): Promise<string[]> => {
    const r = await trellis('get', 'ippools', '-o', 'json');
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { items: { metadata: { name: string } }[] }).items.map(
      (i) => i.metadata.name,
    );
  };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'trellis-cli-test-'));
    store = path.join(dir, 'store');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints its version', async () => {
    const r = await trellis('version');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^trellis \d+\.\d+\.\d+ /);
  });

  for (const [what, spec, field, rule] of [
    ['a bad CIDR', { cidr: '10.244.0.0' }, 'spec.cidr', /CIDR/],
    ['a CIDR with host bits', { cidr: '10.244.0.1/16' }, 'spec.cidr', /host bits/],
    [
      'a block size out of range',
      { cidr: '10.244.0.0/16', blockSize: 33 },
      'spec.blockSize',
      /between 20 and 32/,
    ],
    [
      'an IPv4 block size on an IPv6 pool',
      { cidr: 'fd00::/48', blockSize: 26 },
      'spec.blockSize',
      /for an IPv6 pool/,
    ],
  ] as const) {
    it(`rejects an IPPool with ${what}, naming the field, storing nothing`, async () => {
      const r = await trellis('apply', '-f', await manifest('bad.yaml', [pool('p1', spec)]));
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      const first = r.stderr.split('\n')[0]!;
      assert.match(first, new RegExp(`^error: .*bad\\.yaml: IPPool "p1": ${field.replace('.', '\\.')}: `));
      assert.match(first, rule);
      assert.deepEqual(await storedPools(), []);
    });
  }

  it('round-trips a valid pool through get -o yaml, with defaults, and re-applies it unchanged', async () => {
    const file = await manifest('p1.yaml', [pool('p1', { cidr: '10.244.0.0/16', natOutgoing: true })]);
    let r = await trellis('apply', '-f', file);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'ippool/p1 created\n');
    r = await trellis('get', 'IPPool', 'p1', '-o', 'yaml');
    assert.equal(r.code, 0, r.stderr);
    const got = parse(r.stdout) as { metadata: { name: string; resourceVersion: string }; spec: unknown };
    assert.equal(got.metadata.name, 'p1');
    assert.ok(got.metadata.resourceVersion);
    assert.deepEqual(got.spec, {
      cidr: '10.244.0.0/16',
      natOutgoing: true,
      disabled: false,
      disableBGPExport: false,
      blockSize: 26,
    });
    const again = path.join(dir, 'again.yaml');
    await writeFile(again, r.stdout);
    r = await trellis('apply', '-f', again);
    assert.equal(r.stdout, 'ippool/p1 unchanged\n');
  });

  it('applies multi-document files and directories in name order, and reports changes', async () => {
    await manifest('tree/b.yaml', [pool('b1', { cidr: '10.2.0.0/16' }), pool('b2', { cidr: '10.3.0.0/16' })]);
    await manifest('tree/a/z.json', [pool('a1', { cidr: '10.1.0.0/16' })]);
    await writeFile(path.join(dir, 'tree', 'notes.txt'), 'not a manifest');
    let r = await trellis('apply', '-f', path.join(dir, 'tree'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'ippool/a1 created\nippool/b1 created\nippool/b2 created\n');
    await manifest('tree/b.yaml', [
      pool('b1', { cidr: '10.2.0.0/16', disabled: true }),
      pool('b2', { cidr: '10.3.0.0/16' }),
    ]);
    r = await trellis('apply', '-f', path.join(dir, 'tree'));
    assert.equal(r.stdout, 'ippool/a1 unchanged\nippool/b1 configured\nippool/b2 unchanged\n');
    r = await trellis('get', 'pool');
    assert.match(r.stdout, /^NAME\s+CIDR\s+BLOCKSIZE\s+DISABLED\s+NAT\s+AGE\n/);
    assert.match(r.stdout, /\nb1\s+10\.2\.0\.0\/16\s+26\s+true\s+false\s+\d+s\n/);
  });

  it('applies nothing when any document is invalid, listing every invalid one', async () => {
    const file = await manifest('mixed.yaml', [
      pool('ok', { cidr: '10.1.0.0/16' }),
      pool('bad1', { cidr: '10.2.0.1/16' }),
      { apiVersion: 'trellis.network/v1', kind: 'BGPPeer', metadata: { name: 'x' }, spec: { asNumber: 1 } },
    ]);
    const r = await trellis('apply', '-f', file);
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /mixed\.yaml#2: IPPool "bad1": spec\.cidr: /);
    assert.match(lines[1]!, /mixed\.yaml#3: BGPPeer "x": spec\.peerIP: is required/);
    assert.equal(lines[2], 'error: nothing applied: 2 of 3 documents are invalid');
    assert.deepEqual(await storedPools(), []);
  });

  it('reports unparsable YAML with its file', async () => {
    const file = path.join(dir, 'broken.yaml');
    await writeFile(file, 'kind: [\n');
    const r = await trellis('apply', '-f', file);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: .*broken\.yaml: .*line \d+/);
  });

  it('deletes by kind and name and by file; a missing object is an error unless ignored', async () => {
    const file = await manifest('two.yaml', [
      pool('p1', { cidr: '10.1.0.0/16' }),
      pool('p2', { cidr: '10.2.0.0/16' }),
    ]);
    await trellis('apply', '-f', file);
    let r = await trellis('delete', 'ippools', 'p1');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'ippool/p1 deleted\n');
    r = await trellis('delete', '-f', file);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, 'ippool/p2 deleted\n');
    assert.equal(r.stderr, 'error: ippool "p1" not found\n');
    assert.deepEqual(await storedPools(), []);
    r = await trellis('delete', 'pool', 'p1', '--ignore-not-found');
    assert.equal(r.code, 0);
  });

  it('lists several objects as a stream that apply accepts back', async () => {
    await trellis(
      'apply',
      '-f',
      await manifest('two.yaml', [pool('p1', { cidr: '10.1.0.0/16' }), pool('p2', { cidr: '10.2.0.0/16' })]),
    );
    const listed = await trellis('get', 'ippools', '-o', 'yaml');
    assert.equal(parseAllDocuments(listed.stdout).length, 2);
    const file = path.join(dir, 'listed.yaml');
    await writeFile(file, listed.stdout);
    const again = await trellis('apply', '-f', file);
    assert.equal(again.stdout, 'ippool/p1 unchanged\nippool/p2 unchanged\n');
  });

  it('fails clearly on unknown kinds (1) and on usage errors (2)', async () => {
    let r = await trellis('get', 'widgets');
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'error: unknown resource type "widgets"\n');
    r = await trellis('get');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: missing required argument 'kind'/);
    r = await trellis('get', 'pool', '-o', 'xml');
    assert.equal(r.code, 2);
    r = await trellis('frobnicate');
    assert.equal(r.code, 2);
    r = await trellis('--log-level', 'loud', 'get', 'pool');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: invalid log level "loud"/);
    r = await trellis('delete', 'pool');
    assert.equal(r.code, 2);
    r = await trellis('get', 'pool', 'nope');
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'error: ippool "nope" not found\n');
  });

  it('takes the datastore from TRELLIS_DATASTORE', async () => {
    const file = await manifest('p.yaml', [pool('p1', { cidr: '10.1.0.0/16' })]);
    const r = await execa('node', [MAIN, 'apply', '-f', file], {
      env: { TRELLIS_DATASTORE: store },
      reject: false,
    });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(await storedPools(), ['p1']);
  });
});
