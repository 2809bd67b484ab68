// Shared by the Kubernetes datastore tests: a stand-in API server (NOT a real kube-apiserver,
// none can be installed here; see test/k8s-apiserver/server.ts) and stores connected to it,
// all closed after each test.

import {
  KubernetesDatastore,
  type KubernetesDatastoreOptions,
} from '../../src/datastore/kubernetes/index.js';
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
