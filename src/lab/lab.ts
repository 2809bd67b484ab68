// A lab run: network namespaces joined by veth pairs and bridges, plus processes running inside
// them, all registered in a state file before they exist so that nothing outlives the run.
import { spawn as spawnChild } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import ipaddr from 'ipaddr.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { cleanupStale } from './cleanup.js';
import { type CommandResult, ipBatch, runCommand } from './commands.js';
import { performAsync, performSync } from './effects.js';
import { LabCommandError, LabError, LabInputError, LabTornDownError } from './errors.js';
import {
  makeRunPrefix,
  markerFor,
  namespaceName,
  prefixOfNamespace,
  validateIfname,
  validateName,
  validatePrefix,
} from './names.js';
import { identify, type ProcessIdentity, readProcStat } from './proc.js';
import { type OpenLab, type RunRecord, registerOpenLab, unregisterOpenLab } from './registry.js';
import {
  claimState,
  DEFAULT_STATE_DIR,
  type LabState,
  removeState,
  type TrackedProcess,
  validateStateDir,
  writeState,
} from './state.js';
import {
  DEFAULT_GRACE_MS,
  isClean,
  listNamespaces,
  namespaceExists,
  type RunRemoval,
  removeRun,
  stopProcesses,
} from './teardown.js';

export interface LabOptions {
  /** Namespace name prefix; default `makeRunPrefix()`. At most 8 chars, lowercase alphanumeric. */
  prefix?: string;
  /** Where the run's state file lives; default /run/trellis-lab. */
  stateDir?: string;
  /**
   * Keep the lab after this process exits (for `trellis lab up`); it is removed only by
   * teardown() or labDown(). Default false: the lab dies with the process.
   */
  detached?: boolean;
  /** How long processes get between SIGTERM and SIGKILL; default 1000 ms. */
  graceMs?: number;
  logger?: Logger;
}

export interface NamespaceOptions {
  /** Set inside the namespace, e.g. `{ 'net.ipv4.ip_forward': 1 }`. */
  sysctls?: Readonly<Record<string, string | number>>;
  /** Default true. */
  loopbackUp?: boolean;
}

export interface Endpoint {
  /** Lab namespace name (without the prefix). */
  ns: string;
  ifname: string;
  /** CIDR(s) to put on the interface, e.g. '10.0.0.1/30' or ['10.0.0.1/30', 'fd00::1/64']. */
  address?: string | readonly string[];
}

export interface ConnectOptions {
  a: Endpoint;
  b: Endpoint;
  mtu?: number;
}

export interface BridgeMember extends Endpoint {
  /** Name of the bridge-side veth end in the fabric namespace; default `<bridge>p<index>`. */
  portName?: string;
}

export interface ExecOptions {
  input?: string;
  timeoutMs?: number;
  /** Resolve with the non-zero exit code instead of rejecting. */
  allowFailure?: boolean;
  /** Added to the inherited environment. */
  env?: Readonly<Record<string, string>>;
}

export interface SpawnOptions {
  /** Append the process's stdout and stderr to this file; default: discard them. */
  logFile?: string;
  /** Added to the inherited environment. */
  env?: Readonly<Record<string, string>>;
}

export interface ProcessExit {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

export interface LabProcess extends ProcessIdentity {
  /** Full namespace name. */
  ns: string;
  command: readonly string[];
  /** Settles when the process exits; never rejects. */
  exited: Promise<ProcessExit>;
}

const SYSCTL_KEY = /^[A-Za-z0-9_]+([./][A-Za-z0-9_-]+)+$/;
const SYSCTL_VALUE = /^[^\s=]+$/;

interface PlannedCommand {
  command: string;
  /** The ip command (and its full namespace name) that reverses this one once it has run. */
  undo?: { ns: string; command: string };
}

interface LinkPlan {
  /** `ip link add ... type veth peer ...` commands, run in the host namespace first. */
  host: PlannedCommand[];
  /** Commands per full namespace name, run (in parallel across namespaces) after the veths exist. */
  inside: Map<string, PlannedCommand[]>;
  /** Interface names the plan claims, per lab namespace name. */
  claims: Array<{ ns: string; ifname: string }>;
}

export class Lab implements OpenLab {
  readonly prefix: string;
  readonly statePath: string;
  readonly detached: boolean;
  private readonly state: LabState & { namespaces: string[]; processes: TrackedProcess[] };
  private readonly graceMs: number;
  private readonly log: Logger;
  private readonly record: RunRecord;
  /** Interface names in use, per lab namespace name. */
  private readonly ifnames = new Map<string, Set<string>>();
  private teardownPromise: Promise<void> | undefined;
  private closed = false;
  private finished = false;

  private constructor(prefix: string, statePath: string, state: LabState, opts: LabOptions) {
    this.prefix = prefix;
    this.statePath = statePath;
    this.detached = opts.detached === true;
    this.state = { ...state, namespaces: [...state.namespaces], processes: [...state.processes] };
    this.graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
    this.log = (opts.logger ?? silentLogger).child({ lab: prefix });
    this.record = registerOpenLab(this);
  }

  /** Removes stale runs, then claims a prefix by creating its state file. */
  static async create(opts: LabOptions = {}): Promise<Lab> {
    const prefix = validatePrefix(opts.prefix ?? makeRunPrefix());
    const stateDir = validateStateDir(opts.stateDir ?? DEFAULT_STATE_DIR);
    if (opts.graceMs !== undefined && !(Number.isFinite(opts.graceMs) && opts.graceMs >= 0)) {
      throw new LabInputError(`invalid graceMs ${opts.graceMs}: expected a non-negative number`);
    }
    await cleanupStale({ stateDir });
    const leftovers = listNamespaces().filter((ns) => prefixOfNamespace(ns) === prefix);
    if (leftovers.length > 0) {
      throw new LabInputError(`lab prefix ${prefix} is in use by namespaces ${leftovers.join(', ')}`);
    }
    const owner = opts.detached === true ? null : identify(process.pid);
    if (owner === undefined) throw new LabError('cannot read /proc/self/stat');
    const state: LabState = {
      prefix,
      owner,
      createdAt: new Date().toISOString(),
      namespaces: [],
      processes: [],
    };
    const path = claimState(stateDir, state);
    return new Lab(prefix, path, state, opts);
  }

  /** The full (host-visible) name of a lab namespace. */
  nsName(name: string): string {
    return namespaceName(this.prefix, name);
  }

  /** Names (without prefix) of the namespaces created so far. */
  get namespaces(): string[] {
    return this.state.namespaces.map((ns) => ns.slice(this.prefix.length + 1));
  }

  addNamespace(name: string, opts: NamespaceOptions = {}): Promise<string> {
    return this.addNamespaces([name], opts).then(([full]) => full!);
  }

  /** Creates several namespaces with one host-side ip call. Returns their full names. */
  async addNamespaces(names: readonly string[], opts: NamespaceOptions = {}): Promise<string[]> {
    this.assertOpen();
    for (const name of names) validateName(name);
    const fresh = new Set(names);
    if (fresh.size !== names.length)
      throw new LabInputError(`duplicate namespace names in ${names.join(', ')}`);
    for (const name of names) {
      if (this.ifnames.has(name))
        throw new LabInputError(`namespace ${name} already exists in lab ${this.prefix}`);
    }
    const sysctls = Object.entries(opts.sysctls ?? {}).map(([key, value]) => sysctlAssignment(key, value));
    const full = names.map((n) => this.nsName(n));
    const existing = full.filter(namespaceExists);
    if (existing.length > 0) throw new LabInputError(`namespaces already exist: ${existing.join(', ')}`);

    // Register first: if we die between here and `netns add`, cleanup still knows the names.
    this.state.namespaces.push(...full);
    this.saveState();
    try {
      await ipBatch(
        undefined,
        full.map((ns) => `netns add ${ns}`),
      );
      const setup = [`link set dev lo alias ${markerFor(this.statePath)}`];
      if (opts.loopbackUp !== false) setup.push('link set dev lo up');
      await Promise.all(full.map((ns) => ipBatch(ns, setup)));
      if (sysctls.length > 0) {
        await Promise.all(
          full.map((ns) => runCommand('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', ...sysctls], { ns })),
        );
      }
    } catch (err) {
      await performAsync(removeRun(full, [], this.graceMs));
      this.forgetNamespaces(full);
      throw err;
    }
    for (const name of names) this.ifnames.set(name, new Set(['lo']));
    this.log.debug({ namespaces: full }, 'namespaces added');
    return full;
  }

  /** Joins two namespaces with a veth pair, addresses and MTU set, both ends up. */
  async connect(opts: ConnectOptions): Promise<void> {
    this.assertOpen();
    const mtu = opts.mtu === undefined ? undefined : validateMtu(opts.mtu);
    const plan = emptyPlan();
    this.planVeth(plan, opts.a, opts.b);
    this.planAddresses(plan, opts.a, mtu);
    this.planAddresses(plan, opts.b, mtu);
    await this.apply(plan);
  }

  /**
   * A shared L2 segment: a bridge in `fabricNs` and, per member, a veth whose bridge end is a
   * port of the bridge and whose other end (with the member's addresses) sits in the member's
   * namespace.
   */
  async addBridgeSegment(
    fabricNs: string,
    bridgeName: string,
    members: readonly BridgeMember[],
  ): Promise<void> {
    this.assertOpen();
    const fabric = this.knownNamespace(fabricNs);
    validateIfname(bridgeName);
    const plan = emptyPlan();
    this.claim(plan, fabricNs, bridgeName);
    lines(plan.inside, fabric).push(
      {
        command: `link add name ${bridgeName} type bridge`,
        undo: { ns: fabric, command: `link del dev ${bridgeName}` },
      },
      { command: `link set dev ${bridgeName} up` },
    );
    members.forEach((member, i) => {
      const port = member.portName ?? `${bridgeName}p${i}`;
      this.planVeth(plan, member, { ns: fabricNs, ifname: port });
      this.planAddresses(plan, member, undefined);
      lines(plan.inside, fabric).push({ command: `link set dev ${port} master ${bridgeName} up` });
    });
    await this.apply(plan);
  }

  /** Runs iproute2 commands (e.g. 'route add 10.0.0.0/24 via 10.1.0.1') in one `ip -batch` call. */
  async ip(ns: string, commands: readonly string[]): Promise<void> {
    this.assertOpen();
    await ipBatch(this.knownNamespace(ns), commands);
  }

  /** Runs a command inside a namespace and waits for it. Rejects with LabCommandError on failure. */
  async exec(
    ns: string,
    cmd: string,
    args: readonly string[] = [],
    opts: ExecOptions = {},
  ): Promise<CommandResult> {
    this.assertOpen();
    const full = this.knownNamespace(ns);
    return runCommand('ip', ['netns', 'exec', full, cmd, ...args], { ...opts, ns: full });
  }

  /**
   * Starts a background process inside a namespace, as leader of its own process group, and
   * tracks it until it exits or the lab is torn down.
   */
  async spawn(
    ns: string,
    cmd: string,
    args: readonly string[] = [],
    opts: SpawnOptions = {},
  ): Promise<LabProcess> {
    this.assertOpen();
    const full = this.knownNamespace(ns);
    const command = [cmd, ...args];
    const out = opts.logFile === undefined ? 'ignore' : openSync(opts.logFile, 'a');
    // `ip netns exec` execs the command, so the child's pid is the command's pid.
    const child = spawnChild('ip', ['netns', 'exec', full, ...command], {
      detached: true,
      stdio: ['ignore', out, out],
      // Added to our environment, as exec() does.
      ...(opts.env === undefined ? {} : { env: { ...process.env, ...opts.env } }),
    });
    if (typeof out === 'number') closeSync(out);
    // A detached lab's processes must not keep its creator (e.g. `trellis lab up`) running.
    if (this.detached) child.unref();
    const exited = new Promise<ProcessExit>((resolve) => {
      child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
    });
    const started = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) =>
        reject(
          new LabCommandError({
            ns: full,
            command,
            exitCode: undefined,
            signal: undefined,
            stderr: err.message,
            stdout: '',
          }),
        ),
      );
    });
    // Read the start time before yielding to the event loop: until then nothing reaps the
    // child, so even a command that has already exited is still a readable zombie.
    const startTime = child.pid === undefined ? undefined : readProcStat(child.pid)?.startTime;
    if (child.pid === undefined || startTime === undefined) {
      await started;
      throw new LabError(`cannot identify the process started for ${command.join(' ')}`);
    }
    const identity: ProcessIdentity = { pid: child.pid, startTime };
    const tracked: TrackedProcess = { ...identity, ns: full, command };
    this.state.processes.push(tracked);
    this.record.processes.push(identity);
    this.saveState();
    void exited.then(() => this.untrack(tracked));
    try {
      await started;
    } catch (err) {
      this.untrack(tracked);
      throw err;
    }
    this.log.debug({ pid: identity.pid, ns: full, command }, 'process spawned');
    return { ...tracked, exited };
  }

  /** SIGTERM, then SIGKILL after the grace period; resolves once the process is gone. */
  async stop(proc: LabProcess, graceMs: number = this.graceMs): Promise<void> {
    const stuck = await performAsync(stopProcesses([proc], graceMs));
    if (stuck.length > 0)
      throw new LabError(`process ${proc.pid} (${proc.command.join(' ')}) survived SIGKILL`);
    await proc.exited;
  }

  /**
   * Stops tracked processes (SIGTERM, SIGKILL after the grace period), kills anything else still
   * inside the namespaces, deletes the namespaces and the state file. Safe to call repeatedly.
   */
  teardown(): Promise<void> {
    this.teardownPromise ??= this.runTeardown();
    return this.teardownPromise;
  }

  /** Synchronous teardown for exit handlers. Blocks the event loop for up to the grace period. */
  teardownSync(): void {
    if (this.finished) return;
    this.closed = true;
    this.finish(performSync(removeRun(this.ownedNamespaces(), this.state.processes, this.graceMs)));
  }

  private async runTeardown(): Promise<void> {
    this.closed = true;
    const removal = await performAsync(removeRun(this.ownedNamespaces(), this.state.processes, this.graceMs));
    if (!this.finished) this.finish(removal);
  }

  private finish(removal: RunRemoval): void {
    if (!isClean(removal)) {
      // Keep the state file so cleanupStale/labDown can retry later.
      throw new LabError(
        `lab ${this.prefix} teardown incomplete: namespaces [${removal.namespaces.join(', ')}], ` +
          `processes [${removal.processes.map((p) => p.pid).join(', ')}]`,
      );
    }
    this.finished = true;
    this.state.namespaces.length = 0;
    this.state.processes.length = 0;
    removeState(this.statePath);
    unregisterOpenLab(this);
    this.log.debug('lab torn down');
  }

  /** Registered namespaces plus any with our prefix (created by hand via the prefix scheme). */
  private ownedNamespaces(): string[] {
    const byName = listNamespaces().filter((ns) => prefixOfNamespace(ns) === this.prefix);
    return [...new Set([...this.state.namespaces, ...byName])];
  }

  private forgetNamespaces(full: readonly string[]): void {
    const kept = this.state.namespaces.filter((ns) => !full.includes(ns));
    this.state.namespaces.splice(0, this.state.namespaces.length, ...kept);
    this.saveState();
  }

  private untrack(proc: TrackedProcess): void {
    const i = this.state.processes.indexOf(proc);
    if (i < 0 || this.closed) return;
    this.state.processes.splice(i, 1);
    this.saveState();
  }

  private saveState(): void {
    writeState(this.statePath, this.state);
  }

  private assertOpen(): void {
    if (this.closed) throw new LabTornDownError(this.prefix);
  }

  private knownNamespace(name: string): string {
    if (!this.ifnames.has(name)) {
      throw new LabInputError(
        `unknown namespace ${name} in lab ${this.prefix} (have: ${this.namespaces.join(', ') || 'none'})`,
      );
    }
    return this.nsName(name);
  }

  /** Reserves an interface name in the plan; the reservation becomes real only if apply() succeeds. */
  private claim(plan: LinkPlan, ns: string, ifname: string): void {
    validateIfname(ifname);
    const taken =
      this.ifnames.get(ns)!.has(ifname) || plan.claims.some((c) => c.ns === ns && c.ifname === ifname);
    if (taken) throw new LabInputError(`interface ${ifname} already exists in namespace ${ns}`);
    plan.claims.push({ ns, ifname });
  }

  private planVeth(plan: LinkPlan, a: Endpoint, b: Pick<Endpoint, 'ns' | 'ifname'>): void {
    const nsA = this.knownNamespace(a.ns);
    const nsB = this.knownNamespace(b.ns);
    this.claim(plan, a.ns, a.ifname);
    this.claim(plan, b.ns, b.ifname);
    // Created from the host straight into both namespaces, so host interface names never clash.
    plan.host.push({
      command: `link add name ${a.ifname} netns ${nsA} type veth peer name ${b.ifname} netns ${nsB}`,
      // Deleting one end of a veth deletes both.
      undo: { ns: nsA, command: `link del dev ${a.ifname}` },
    });
  }

  /** Brings an interface up, then addresses it. */
  private planAddresses(plan: LinkPlan, end: Endpoint, mtu: number | undefined): void {
    const full = this.knownNamespace(end.ns);
    const addresses =
      end.address === undefined ? [] : typeof end.address === 'string' ? [end.address] : end.address;
    const cmds = lines(plan.inside, full);
    // Up before addressing: IPv6 addresses added to a down link answered the first neighbour
    // solicitation only after ~1 s (measured), up-then-address answers at once.
    cmds.push({ command: `link set dev ${end.ifname}${mtu === undefined ? '' : ` mtu ${mtu}`} up` });
    for (const cidr of addresses) {
      // nodad: usable at once instead of after duplicate address detection.
      const nodad = cidr.includes(':') ? ' nodad' : '';
      cmds.push({ command: `address add ${validateCidr(cidr)} dev ${end.ifname}${nodad}` });
    }
  }

  /**
   * Runs a plan; on failure undoes exactly the commands that took effect (never anything that
   * existed before, e.g. a same-named link made by hand) and rethrows.
   */
  private async apply(plan: LinkPlan): Promise<void> {
    const ran: PlannedCommand[] = [];
    try {
      await runPlanned(undefined, plan.host, ran);
      const results = await Promise.allSettled(
        [...plan.inside].map(([ns, cmds]) => runPlanned(ns, cmds, ran)),
      );
      const failure = results.find((r) => r.status === 'rejected');
      if (failure !== undefined) throw failure.reason;
    } catch (err) {
      await undo(ran);
      throw err;
    }
    for (const { ns, ifname } of plan.claims) this.ifnames.get(ns)!.add(ifname);
  }
}

/** Runs one batch, recording which of its commands took effect (all before the failing one). */
async function runPlanned(
  ns: string | undefined,
  cmds: readonly PlannedCommand[],
  ran: PlannedCommand[],
): Promise<void> {
  try {
    await ipBatch(
      ns,
      cmds.map((c) => c.command),
    );
    ran.push(...cmds);
  } catch (err) {
    // Without a failing line we cannot tell what ran; undo nothing (teardown removes it anyway).
    const done = err instanceof LabCommandError ? (err.batchLine ?? 0) : 0;
    ran.push(...cmds.slice(0, done));
    throw err;
  }
}

async function undo(ran: readonly PlannedCommand[]): Promise<void> {
  const byNs = new Map<string, string[]>();
  for (const { undo } of [...ran].reverse()) {
    if (undo !== undefined) lines(byNs, undo.ns).push(undo.command);
  }
  await Promise.all(
    [...byNs].map(([ns, cmds]) =>
      runCommand('ip', ['-n', ns, '-force', '-batch', '-'], {
        input: `${cmds.join('\n')}\n`,
        allowFailure: true,
        ns,
      }),
    ),
  );
}

function emptyPlan(): LinkPlan {
  return { host: [], inside: new Map(), claims: [] };
}

function lines<T>(map: Map<string, T[]>, ns: string): T[] {
  let list = map.get(ns);
  if (list === undefined) {
    list = [];
    map.set(ns, list);
  }
  return list;
}

function validateCidr(cidr: string): string {
  try {
    ipaddr.parseCIDR(cidr);
  } catch {
    throw new LabInputError(
      `invalid address "${cidr}": expected CIDR notation such as 10.0.0.1/24 or fd00::1/64`,
    );
  }
  return cidr;
}

function validateMtu(mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
    throw new LabInputError(`invalid MTU ${mtu}: expected an integer from 68 to 65535`);
  }
  return mtu;
}

function sysctlAssignment(key: string, value: string | number): string {
  const text = String(value);
  if (!SYSCTL_KEY.test(key) || !SYSCTL_VALUE.test(text)) {
    throw new LabInputError(`invalid sysctl ${key}=${text}`);
  }
  return `${key}=${text}`;
}
