// Where the API server is: in a pod (service account token + CA), a kubeconfig file, or a bare
// server URL (tests, or a local proxy such as `kubectl proxy`).
import { KubeConfig } from '@kubernetes/client-node';
import { DatastoreError } from '../types.js';

export type ApiServerSource =
  | { inCluster: true }
  | { kubeconfig: string; context?: string }
  | { server: string; token?: string; skipTLSVerify?: boolean };

export function loadKubeConfig(source: ApiServerSource): KubeConfig {
  const kc = new KubeConfig();
  if ('inCluster' in source) {
    kc.loadFromCluster();
  } else if ('kubeconfig' in source) {
    kc.loadFromFile(source.kubeconfig);
    if (source.context !== undefined) kc.setCurrentContext(source.context);
  } else {
    // The library refuses plain http unless skipTLSVerify is set (there is no TLS to verify).
    const plainHttp = source.server.startsWith('http:');
    kc.loadFromOptions({
      clusters: [
        { name: 'trellis', server: source.server, skipTLSVerify: source.skipTLSVerify ?? plainHttp },
      ],
      users: [{ name: 'trellis', ...(source.token === undefined ? {} : { token: source.token }) }],
      contexts: [{ name: 'trellis', cluster: 'trellis', user: 'trellis' }],
      currentContext: 'trellis',
    });
  }
  if (kc.getCurrentCluster() === null)
    throw new DatastoreError('Invalid', 'kubeconfig has no current cluster');
  return kc;
}
