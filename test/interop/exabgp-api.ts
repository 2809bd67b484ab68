// ExaBGP 4.2 driven at runtime through its API process, for tests that need a peer to send
// crafted UPDATEs (generic attributes `attribute [ 0xCODE 0xFLAGS 0xVALUE ]`) one after another
// on a single session. The API process is a small bridge: what ExaBGP reports (JSON) is
// appended to events.jsonl, and each line the test appends to commands.txt is handed to ExaBGP.

import { appendFileSync, chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab, LabProcess } from '../../src/lab/index.js';

export interface ExabgpOptions {
  /** Lab namespace ExaBGP runs in. */
  readonly ns: string;
  /** Directory for its config, bridge, events and log (must exist). */
  readonly dir: string;
  readonly address: string;
  readonly routerId: string;
  readonly as: number;
  readonly peerAddress: string;
  readonly peerAs: number;
}

/** A NOTIFICATION as ExaBGP's JSON encoder reports it. */
export interface ExabgpNotification {
  readonly code: number;
  readonly subcode: number;
}

/** An attribute in the syntax of ExaBGP's `attribute [ 0xCODE 0xFLAGS 0xVALUE ]`. */
export function generic(code: number, flags: number, valueHex: string): string {
  const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;
  return `[ ${hex(code)} ${hex(flags)} 0x${valueHex} ]`;
}

const BRIDGE = (events: string, commands: string): string =>
  [
    '#!/usr/bin/python3',
    '# ExaBGP API bridge: its messages (stdin) to a file, lines appended to another file to stdout.',
    'import os, sys, threading, time',
    '# ExaBGP hands over a non-blocking pipe.',
    'os.set_blocking(0, True)',
    'def forward_events():',
    `    with open("${events}", "a", buffering=1) as out:`,
    '        for line in sys.stdin:',
    '            out.write(line)',
    '    os._exit(0)',
    'threading.Thread(target=forward_events, daemon=True).start()',
    'sent = 0',
    'while True:',
    `    with open("${commands}") as f:`,
    '        complete = f.read().split("\\n")[:-1]',
    '    for line in complete[sent:]:',
    '        sys.stdout.write(line + "\\n")',
    '    sys.stdout.flush()',
    '    sent = len(complete)',
    '    time.sleep(0.05)',
    '',
  ].join('\n');

export class ExabgpApi {
  readonly options: ExabgpOptions;
  readonly process: LabProcess;
  readonly #events: string;
  readonly #commands: string;

  private constructor(options: ExabgpOptions, process: LabProcess) {
    this.options = options;
    this.process = process;
    this.#events = join(options.dir, 'events.jsonl');
    this.#commands = join(options.dir, 'commands.txt');
  }

  /** Starts ExaBGP passive (we dial it), IPv4 unicast, in `o.ns`; the lab stops it on teardown. */
  static async start(lab: Lab, o: ExabgpOptions): Promise<ExabgpApi> {
    const events = join(o.dir, 'events.jsonl');
    const commands = join(o.dir, 'commands.txt');
    writeFileSync(commands, '');
    const bridge = join(o.dir, 'bridge.py');
    writeFileSync(bridge, BRIDGE(events, commands));
    chmodSync(bridge, 0o755);
    const conf = [
      'process bridge {',
      `    run ${bridge};`,
      '    encoder json;',
      '}',
      `neighbor ${o.peerAddress} {`,
      `    router-id ${o.routerId};`,
      `    local-address ${o.address};`,
      `    local-as ${o.as};`,
      `    peer-as ${o.peerAs};`,
      '    passive;',
      '    family { ipv4 unicast; }',
      '    api {',
      '        processes [ bridge ];',
      '        neighbor-changes;',
      '        receive { parsed; update; notification; }',
      '    }',
      '}',
    ];
    const confFile = join(o.dir, 'exabgp.conf');
    writeFileSync(confFile, `${conf.join('\n')}\n`);
    const process = await lab.spawn(o.ns, 'exabgp', [confFile], {
      logFile: join(o.dir, 'exabgp.out'),
      env: {
        exabgp_tcp_bind: o.address,
        exabgp_tcp_port: '179',
        exabgp_api_cli: 'false',
        exabgp_daemon_user: 'root',
        exabgp_daemon_drop: 'false',
        exabgp_reactor_speed: '0.1',
        exabgp_log_destination: join(o.dir, 'exabgp.log'),
      },
    });
    return new ExabgpApi(o, process);
  }

  /** Hands one API command to ExaBGP, e.g. `announce route 10.0.0.0/24 next-hop self`. */
  command(line: string): void {
    appendFileSync(this.#commands, `${line}\n`);
  }

  /** ExaBGP's JSON messages so far (state changes, updates, notifications), oldest first. */
  events(): Record<string, unknown>[] {
    if (!existsSync(this.#events)) return [];
    return (
      readFileSync(this.#events, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        // ExaBGP 4.2 writes some texts (a down reason quoting our NOTIFICATION) unescaped.
        .map((l) => JSON.parse(l.replace(/[\u0000-\u001f]/g, ' ')) as Record<string, unknown>)
    );
  }

  /** 'up' once its session with us is Established; 'down', 'connected'... otherwise. */
  state(): string {
    const last = this.events()
      .filter((e) => e.type === 'state')
      .at(-1) as { neighbor?: { state?: string } } | undefined;
    return last?.neighbor?.state ?? 'unknown';
  }

  /** NOTIFICATIONs ExaBGP received from us, oldest first. */
  notificationsReceived(): ExabgpNotification[] {
    return this.events()
      .filter((e) => e.type === 'notification')
      .map((e) => {
        const n = (e as { neighbor?: { notification?: { code?: number; subcode?: number } } }).neighbor
          ?.notification;
        return { code: Number(n?.code), subcode: Number(n?.subcode) };
      });
  }
}
