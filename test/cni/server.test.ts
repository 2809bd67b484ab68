// End to end through the REAL shim binary: the runtime's side (env + stdin -> exit code +
// stdout) against a CniServer whose handler is written for this test (it records requests and
// answers from the container ID, so each reply can be matched to its request).
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CniError } from '../../agent/cni/errors.js';
import { decodeReply } from '../../agent/cni/frame.js';
import { AgentSocketError, CniServer } from '../../agent/cni/server.js';
import type {
  CniAddRequest,
  CniCheckRequest,
  CniDelRequest,
  CniGcRequest,
  CniHandler,
  CniRequest,
  CniResult,
  CniStatusRequest,
} from '../../agent/cni/types.js';
import { buildShim, leaveStaleSocket, runPlugin, SHIM } from './shim.js';

/** The result this test handler returns for a container: its address derives from the ID. */
function resultFor(req: CniAddRequest): CniResult {
  const n = Number.parseInt(req.containerId.replace(/\D/g, '') || '0', 10) % 250;
  return {
    interfaces: [{ name: req.ifName, mac: '02:00:00:00:00:01', mtu: req.config.mtu, sandbox: req.netns }],
    ips: [{ address: `10.244.0.${n}/32`, gateway: '169.254.1.1', interface: 0 }],
    routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1', priority: 5 }],
  };
}

class TestHandler implements CniHandler {
  readonly seen: CniRequest[] = [];
  /** Set by a test to change what ADD does. */
  onAdd: (req: CniAddRequest, signal: AbortSignal) => Promise<CniResult> = async (req) => resultFor(req);

  add(req: CniAddRequest, signal: AbortSignal): Promise<CniResult> {
    this.seen.push(req);
    return this.onAdd(req, signal);
  }
  async del(req: CniDelRequest): Promise<void> {
    this.seen.push(req);
  }
  async check(req: CniCheckRequest): Promise<void> {
    this.seen.push(req);
    throw new CniError(3, 'container unknown', `no attachment for ${req.containerId}/${req.ifName}`);
  }
  async status(req: CniStatusRequest): Promise<void> {
    this.seen.push(req);
  }
  async gc(req: CniGcRequest): Promise<void> {
    this.seen.push(req);
  }
}

describe('cni server with the trellis-cni shim', function () {
  this.timeout(60000);
  let dir: string;
  let socketPath: string;
  let handler: TestHandler;
  let server: CniServer;
  const servers: CniServer[] = [];

  const config = (extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      cniVersion: '1.1.0',
      name: 'trellis',
      type: 'trellis-cni',
      agentSocket: socketPath,
      ...extra,
    });
  const addEnv = (containerId = 'c1'): Record<string, string> => ({
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: containerId,
    CNI_NETNS: '/run/netns/test',
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/opt/cni/bin',
    CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0',
  });
  const shim = (env: Record<string, string>, stdin: string | Buffer) => runPlugin(SHIM, env, stdin);
  const startServer = async (opts: { socketPath?: string; requestTimeoutMs?: number } = {}) => {
    const s = new CniServer({ socketPath, handler, ...opts });
    servers.push(s);
    await s.start();
    return s;
  };

  before(async () => {
    buildShim();
    dir = await mkdtemp(path.join(tmpdir(), 'trellis-cni-test-'));
  });

  beforeEach(async () => {
    socketPath = path.join(dir, `agent-${servers.length}.sock`);
    handler = new TestHandler();
    server = await startServer();
  });

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('ADD: the runtime gets the result on stdout, exit 0, and the handler a typed request', async () => {
    const r = await shim(addEnv('c7'), config({ mtu: 1400 }));
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.stderr, '');
    assert.deepEqual(JSON.parse(r.stdout), {
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:01', mtu: 1400, sandbox: '/run/netns/test' }],
      ips: [{ address: '10.244.0.7/32', gateway: '169.254.1.1', interface: 0 }],
      routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1', priority: 5 }],
    });
    const req = handler.seen[0];
    assert.ok(req?.command === 'ADD');
    assert.equal(req.containerId, 'c7');
    assert.deepEqual(req.args, { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'web-0' });
    assert.deepEqual(req.path, ['/opt/cni/bin']);
  });

  it('ADD with a 0.4.0 configuration answers in 0.4.0 form', async () => {
    const r = await shim(addEnv('c3'), config({ cniVersion: '0.4.0' }));
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(JSON.parse(r.stdout), {
      cniVersion: '0.4.0',
      interfaces: [{ name: 'eth0', mac: '02:00:00:00:00:01', sandbox: '/run/netns/test' }],
      ips: [{ version: '4', address: '10.244.0.3/32', gateway: '169.254.1.1', interface: 0 }],
      routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }],
    });
  });

  it('malformed JSON -> 6', async () => {
    const r = await shim(addEnv(), `{"cniVersion": "1.0.0", "agentSocket": "${socketPath}", `);
    assert.equal(r.code, 1);
    const e = JSON.parse(r.stdout);
    assert.equal(e.code, 6);
    // Nothing in an undecodable configuration is trusted, its version included.
    assert.equal(e.cniVersion, '1.1.0');
    assert.equal(handler.seen.length, 0);
  });

  it('unknown cniVersion -> 1, echoing the version', async () => {
    const r = await shim(addEnv(), config({ cniVersion: '9.9.9' }));
    assert.equal(r.code, 1);
    assert.deepEqual(JSON.parse(r.stdout), {
      cniVersion: '9.9.9',
      code: 1,
      msg: 'incompatible CNI version',
      details: 'cniVersion "9.9.9" is not supported; supported: 0.4.0, 1.0.0, 1.1.0',
    });
  });

  it('missing CNI_NETNS and CNI_CONTAINERID -> 4 naming both', async () => {
    const env = addEnv();
    delete env['CNI_NETNS'];
    delete env['CNI_CONTAINERID'];
    const r = await shim(env, config());
    assert.equal(r.code, 1);
    const e = JSON.parse(r.stdout);
    assert.equal(e.code, 4);
    assert.equal(e.details, 'CNI_CONTAINERID, CNI_NETNS');
  });

  it('a config field error -> 7 naming the field', async () => {
    const r = await shim(addEnv(), config({ mtu: 70000 }));
    assert.equal(r.code, 1);
    const e = JSON.parse(r.stdout);
    assert.equal(e.code, 7);
    assert.equal(e.details, 'mtu: must be between 576 and 9000 (got 70000)');
  });

  it('a handler CniError keeps its code; any other error becomes 100', async () => {
    const check = await shim(
      { ...addEnv('c9'), CNI_COMMAND: 'CHECK' },
      config({ prevResult: { cniVersion: '1.1.0', ips: [{ address: '10.244.0.9/32' }] } }),
    );
    assert.equal(check.code, 1);
    assert.deepEqual(JSON.parse(check.stdout), {
      cniVersion: '1.1.0',
      code: 3,
      msg: 'container unknown',
      details: 'no attachment for c9/eth0',
    });
    handler.onAdd = async () => {
      throw new TypeError('boom');
    };
    const add = await shim(addEnv(), config());
    assert.equal(add.code, 1);
    assert.deepEqual(JSON.parse(add.stdout), {
      cniVersion: '1.1.0',
      code: 100,
      msg: 'internal error in the trellis agent',
      details: 'boom',
    });
  });

  it('an invalid result from the handler becomes 100, not a broken answer', async () => {
    handler.onAdd = async (req) => ({ ...resultFor(req), ips: [{ address: 'not-an-address' }] });
    const r = await shim(addEnv(), config());
    assert.equal(r.code, 1);
    const e = JSON.parse(r.stdout);
    assert.equal(e.code, 100);
    assert.match(e.details, /result\.ips\[0\]\.address: must be a CIDR/);
  });

  it('DEL, STATUS and GC succeed with an empty stdout', async () => {
    const del = await shim({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' }, config());
    const status = await shim({ CNI_COMMAND: 'STATUS' }, config());
    const gc = await shim(
      { CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' },
      config({ 'cni.dev/valid-attachments': [{ containerID: 'c1', ifname: 'eth0' }] }),
    );
    for (const r of [del, status, gc]) assert.deepEqual(r, { code: 0, stdout: '', stderr: '' });
    assert.deepEqual(
      handler.seen.map((r) => r.command),
      ['DEL', 'STATUS', 'GC'],
    );
  });

  it('agent down -> 11 from the shim, with the socket path and the reason', async () => {
    await server.close();
    const gone = await shim(addEnv(), config());
    assert.equal(gone.code, 1);
    assert.deepEqual(JSON.parse(gone.stdout), {
      cniVersion: '1.1.0',
      code: 11,
      msg: 'trellis agent not reachable',
      details: `${socketPath}: No such file or directory`,
    });
    // A socket file with nobody listening (agent crashed).
    await leaveStaleSocket(socketPath);
    const refused = await shim(addEnv(), config({ cniVersion: '1.0.0' }));
    assert.equal(refused.code, 1);
    const e = JSON.parse(refused.stdout);
    assert.equal(e.cniVersion, '1.0.0');
    assert.equal(e.details, `${socketPath}: Connection refused`);
  });

  it('VERSION: answered by the agent, and the same answer by the shim when the agent is down', async () => {
    const up = await shim({ CNI_COMMAND: 'VERSION' }, config({ cniVersion: '1.0.0' }));
    await server.close();
    const down = await shim({ CNI_COMMAND: 'VERSION' }, config({ cniVersion: '1.0.0' }));
    const expected = { cniVersion: '1.0.0', supportedVersions: ['0.4.0', '1.0.0', '1.1.0'] };
    assert.deepEqual({ code: up.code, reply: JSON.parse(up.stdout) }, { code: 0, reply: expected });
    assert.deepEqual({ code: down.code, reply: JSON.parse(down.stdout) }, { code: 0, reply: expected });
  });

  it('a big stdin (900 KiB) goes through whole; over 1 MiB the shim refuses with 5', async () => {
    const big = 'x'.repeat(900 * 1024);
    const ok = await shim(addEnv(), config({ args: { blob: big } }));
    assert.equal(ok.code, 0, ok.stdout.slice(0, 300));
    const req = handler.seen[0];
    assert.ok(req?.command === 'ADD');
    assert.equal(req.config.args?.['blob'], big);
    const tooBig = await shim(addEnv(), config({ args: { blob: 'x'.repeat(1024 * 1024) } }));
    assert.equal(tooBig.code, 1);
    assert.equal(JSON.parse(tooBig.stdout).code, 5);
    assert.equal(handler.seen.length, 1);
  });

  it('serves 100 concurrent runtimes at once, each getting its own answer', async () => {
    // No ADD completes until all 100 are inside the handler: a server that serialized requests
    // would deadlock here instead of passing.
    let arrived = 0;
    let releaseAll!: () => void;
    const allArrived = new Promise<void>((resolve) => {
      releaseAll = resolve;
    });
    handler.onAdd = async (req) => {
      if (++arrived === 100) releaseAll();
      await allArrived;
      return resultFor(req);
    };
    const runs = await Promise.all(Array.from({ length: 100 }, (_, i) => shim(addEnv(`c${i}`), config())));
    runs.forEach((r, i) => {
      assert.equal(r.code, 0, r.stdout);
      assert.equal(JSON.parse(r.stdout).ips[0].address, `10.244.0.${i}/32`);
    });
  });

  it('times out a stuck handler with 101, aborts its signal, and still closes', async () => {
    await server.close();
    const quick = await startServer({ requestTimeoutMs: 200 });
    let aborted: unknown;
    // Never settles, even when aborted: close() must not wait for it.
    handler.onAdd = (_req, signal) =>
      new Promise(() => {
        signal.addEventListener('abort', () => {
          aborted = signal.reason;
        });
      });
    const r = await shim(addEnv(), config());
    assert.equal(r.code, 1);
    assert.deepEqual(JSON.parse(r.stdout), {
      cniVersion: '1.1.0',
      code: 101,
      msg: 'the trellis agent timed out',
      details: 'no answer within 200 ms',
    });
    assert.ok(aborted instanceof CniError && aborted.code === 101);
    await quick.close();
  });

  it('answers a malformed frame with 6 without calling the handler', async () => {
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const c = createConnection(socketPath);
      c.on('data', (d: Buffer) => chunks.push(d));
      c.on('end', () => resolve(Buffer.concat(chunks)));
      c.on('error', reject);
      c.write('HTTP/1.1 GET /\r\n\r\n');
    });
    const frame = decodeReply(reply);
    assert.equal(frame.exitCode, 1);
    const e = JSON.parse(frame.stdout.toString());
    assert.equal(e.code, 6);
    assert.equal(e.details, 'bad magic: not a TCNI frame');
    assert.equal(handler.seen.length, 0);
  });

  describe('socket ownership', () => {
    it('creates the socket with mode 0600', async () => {
      assert.equal((await stat(socketPath)).mode & 0o777, 0o600);
    });

    it('refuses a socket another agent listens on, and leaves it working', async () => {
      const second = new CniServer({ socketPath, handler });
      await assert.rejects(
        second.start(),
        (e: unknown) => e instanceof AgentSocketError && e.reason === 'in-use',
      );
      assert.equal((await shim(addEnv(), config())).code, 0);
    });

    it('replaces a stale socket nobody listens on', async () => {
      await server.close();
      await leaveStaleSocket(socketPath);
      await startServer();
      assert.equal((await shim(addEnv(), config())).code, 0);
    });

    it('refuses to replace a file that is not a socket', async () => {
      const file = path.join(dir, 'not-a-socket');
      await writeFile(file, 'precious');
      await chmod(file, 0o644);
      const s = new CniServer({ socketPath: file, handler });
      await assert.rejects(
        s.start(),
        (e: unknown) => e instanceof AgentSocketError && e.reason === 'not-a-socket',
      );
    });

    it('creates a missing socket directory', async () => {
      const nested = path.join(dir, 'run', 'trellis', 'cni.sock');
      await startServer({ socketPath: nested });
      assert.equal((await stat(path.dirname(nested))).mode & 0o777, 0o700);
      assert.equal((await shim(addEnv(), config({ agentSocket: nested }))).code, 0);
    });
  });
});
