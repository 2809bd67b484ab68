// Shared by the Kubernetes datastore tests: a stand-in API server (NOT a real kube-apiserver,
// none can be installed here; see test/k8s-apiserver/server.ts) and stores connected to it,
// all closed after each test.

import { pino } from 'pino';
import {
  KubernetesDatastore,
  type KubernetesDatastoreOptions,
} from '../../src/datastore/kubernetes/index.js';
import type { Logger } from '../../src/log.js';
import { ApiServerStandIn, type StandInOptions } from '../k8s-apiserver/server.js';

export class StandInFixture {
  private readonly servers: ApiServerStandIn[] = [];
  private readonly stores: KubernetesDatastore[] = [];

  async server(opts: StandInOptions = {}): Promise<ApiServerStandIn> {
    const s = await ApiServerStandIn.start(opts);
    this.servers.push(s);
    return s;
  }

  store(server: ApiServerStandIn, opts: KubernetesDatastoreOptions = {}): KubernetesDatastore {
    const ds = KubernetesDatastore.connect(
      { server: server.url },
      { requestTimeoutMs: 5_000, backoff: { initialMs: 20, maxMs: 200 }, ...opts },
    );
    this.stores.push(ds);
    return ds;
  }

  async closeAll(): Promise<void> {
    for (const ds of this.stores.splice(0)) await ds.close();
    for (const s of this.servers.splice(0)) await s.close();
  }
}

/** A real pino logger whose warn-and-above lines are kept, parsed, for assertions. */
export function recordingLogger(lines: Record<string, unknown>[]): Logger {
  return pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
}
