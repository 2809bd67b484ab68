// podman as a real CNI client: podman 4.3 with its CNI backend runs inside node n1's namespace
// (nsenter --net, see /work/shared/reference/podman.md) and attaches its containers through a
// conflist naming the `trellis` plugin. Everything podman keeps (storage, run state, config,
// the image) lives in a temp directory; nothing global is read or written.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type AddedPod, buildShim, Cluster, type ClusterNode, SHIM_PATH } from '../../agent/lab/cluster.js';
import { type CommandResult, runCommand } from '../../src/lab/commands.js';
import { requireRoot } from '../../src/lab/index.js';

const NETWORK = 'trellis-e2e';
const IMAGE = 'localhost/trellis-e2e-bb:latest';
const BUSYBOX = '/bin/busybox';

interface PodmanContainer {
  name: string;
  ipv4: string;
}

describe('podman attaches containers through trellis-cni (root)', function () {
  this.timeout(90_000);
  let cluster: Cluster;
  let n1: ClusterNode;
  let dir: string;
  let labPod: AddedPod;
  const containers: PodmanContainer[] = [];
  /** podman's CNI backend names container namespaces /run/netns/cni-*; these existed before us. */
  let foreignCniNetns: string[] = [];
  const cniNetns = (): string[] => readdirSync('/run/netns').filter((n) => n.startsWith('cni-'));

  const podman = async (args: readonly string[], allowFailure = false): Promise<CommandResult> =>
    runCommand(
      'nsenter',
      [
        `--net=/run/netns/${n1.netns}`,
        'podman',
        '--root',
        join(dir, 'root'),
        '--runroot',
        join(dir, 'runroot'),
        '--tmpdir',
        join(dir, 'tmp'),
        '--storage-driver',
        'vfs',
        '--cgroup-manager',
        'cgroupfs',
        '--events-backend',
        'file',
        ...args,
      ],
      { env: { CONTAINERS_CONF: join(dir, 'containers.conf') }, allowFailure, timeoutMs: 60_000 },
    );

  const run = async (name: string): Promise<PodmanContainer> => {
    await podman([
      'run',
      '-d',
      '--name',
      name,
      '--network',
      NETWORK,
      '--cap-add',
      'NET_RAW',
      IMAGE,
      'sleep',
      '600',
    ]);
    const [info] = JSON.parse((await podman(['inspect', name])).stdout) as {
      NetworkSettings: { Networks: Record<string, { IPAddress: string }> };
    }[];
    const ipv4 = info?.NetworkSettings.Networks[NETWORK]?.IPAddress ?? '';
    const c = { name, ipv4 };
    containers.push(c);
    return c;
  };

  const ping = async (from: PodmanContainer, to: string): Promise<boolean> => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const r = await podman(['exec', from.name, 'ping', '-c1', '-W1', to], true);
      if (r.exitCode === 0) return true;
    }
    return false;
  };

  before(async function () {
    requireRoot(this);
    buildShim();
    cluster = await Cluster.start({ nodes: 2, pools: [{ name: 'podman-v4', cidr: '10.244.0.0/16' }] });
    n1 = cluster.node('n1');
    foreignCniNetns = cniNetns();
    dir = mkdtempSync(join(tmpdir(), 'trlpodman-'));
    for (const sub of ['root', 'runroot', 'tmp', 'net.d', 'rootfs/bin'])
      mkdirSync(join(dir, sub), { recursive: true });
    writeFileSync(
      join(dir, 'net.d', `${NETWORK}.conflist`),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: NETWORK,
        plugins: [
          {
            type: 'trellis-cni',
            mtu: 1500,
            agentSocket: n1.socket,
            ipam: { type: 'trellis-ipam', assignIPv4: true, ipv4Pools: ['podman-v4'] },
          },
        ],
      }),
    );
    // No CAP_SYS_RESOURCE and a 20000 open-files hard limit here; crun rejects hybrid cgroups.
    writeFileSync(
      join(dir, 'containers.conf'),
      [
        '[containers]',
        'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
        '[engine]',
        'runtime = "runc"',
        '[network]',
        'network_backend = "cni"',
        `network_config_dir = "${join(dir, 'net.d')}"`,
        // The conflist's "type" names the plugin binary: trellis-cni, found where the build put it.
        `cni_plugin_dirs = ["${dirname(SHIM_PATH)}", "/usr/lib/cni"]`,
        '',
      ].join('\n'),
    );
    // No registry is reachable: an image of one static busybox and its applet links.
    const rootfs = join(dir, 'rootfs');
    const applets = (await runCommand(BUSYBOX, ['--list'])).stdout.split('\n').filter((a) => a !== '');
    await runCommand('cp', [BUSYBOX, join(rootfs, 'bin', 'busybox')]);
    chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
    for (const a of applets) if (a !== 'busybox') symlinkSync('busybox', join(rootfs, 'bin', a));
    await runCommand('tar', ['-C', rootfs, '-cf', join(dir, 'rootfs.tar'), '.']);
    await podman(['import', '--change', 'CMD ["/bin/sh"]', join(dir, 'rootfs.tar'), IMAGE]);
    const [podNs] = await cluster.podNamespaces(['remote']);
    labPod = await cluster.add(cluster.node('n2'), 'podman-remote', podNs!, {
      assignIPv4: true,
      ipv4Pools: ['podman-v4'],
    });
  });

  after(async () => {
    try {
      if (dir !== undefined && n1 !== undefined) {
        // rm runs CNI DEL through the agent, which must still be up.
        await podman(['rm', '-f', '-a', '-t', '0'], true);
        await podman(['rmi', '-a', '-f'], true);
      }
    } finally {
      await cluster?.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    }
  });

  it('two containers on node 1 get Trellis addresses and reach each other and a pod on node 2', async () => {
    const a = await run('c1');
    const b = await run('c2');
    for (const c of [a, b]) assert.match(c.ipv4, /^10\.244\./, `${c.name}: ${c.ipv4}`);
    assert.notEqual(a.ipv4, b.ipv4);
    assert.ok(await ping(a, b.ipv4), 'c1 -> c2');
    assert.ok(await ping(b, a.ipv4), 'c2 -> c1');
    assert.ok(await ping(a, labPod.ipv4!), 'c1 -> pod on n2');
    // TCP too: the pod on node 2 serves one HTTP response, the container fetches it.
    const server = await cluster.lab.spawn(labPod.ns, process.execPath, [
      '-e',
      `require('node:http').createServer((q, s) => s.end('trellis')).listen(8080, '${labPod.ipv4}')`,
    ]);
    try {
      let body = '';
      let last = '';
      for (let attempt = 0; attempt < 20 && body !== 'trellis'; attempt++) {
        // busybox nc, not wget: this static busybox's wget dies with SIGSEGV (exit 139) here.
        const request = `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${labPod.ipv4} 8080`;
        const r = await podman(['exec', a.name, 'sh', '-c', request], true);
        body = r.stdout.endsWith('\r\n\r\ntrellis') ? 'trellis' : r.stdout;
        last = `exit ${r.exitCode}: ${r.stderr}`;
        if (body !== 'trellis') await new Promise((res) => setTimeout(res, 100));
      }
      assert.equal(body, 'trellis', last);
    } finally {
      await cluster.lab.stop(server);
    }
  });

  it('podman rm releases the containers’ addresses, veths and routes', async () => {
    await podman(['rm', '-f', '-t', '0', ...containers.map((c) => c.name)]);
    const footprint = await cluster.footprint();
    assert.deepEqual(footprint, Cluster.expectedFootprint([labPod]));
    assert.deepEqual(
      cniNetns().filter((n) => !foreignCniNetns.includes(n)),
      [],
      'podman removed its container namespaces',
    );
  });
});
