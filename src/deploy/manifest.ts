// The install manifest (manifests/trellis.yaml), built from code so its parts come from their
// one source: CRDs from the resource schemas, the CNI conflist checked against the plugin's
// config schema, the API rules from the kinds the agent really reads and writes.
import { stringify } from 'yaml';
import { crdFor } from '../resources/crd.js';
import { resourceDefinitions } from '../resources/registry.js';

export const NAMESPACE = 'trellis-system';
export const APP = 'trellis-node';
export const IMAGE = 'ghcr.io/trellis-network/trellis:0.1.0';
export const AGENT_HTTP_PORT = 9099;
export const CNI_SOCKET_DIR = '/run/trellis';
export const CONFLIST_NAME = '10-trellis.conflist';

type Obj = Record<string, unknown>;

/** What the node's container runtime reads from /etc/cni/net.d. */
export function conflist(): Obj {
  return {
    cniVersion: '1.1.0',
    name: 'k8s-pod-network',
    plugins: [
      {
        type: 'trellis-cni',
        mtu: 1500,
        agentSocket: `${CNI_SOCKET_DIR}/cni.sock`,
        ipam: { type: 'trellis-ipam', assignIPv4: true, assignIPv6: false },
      },
      { type: 'portmap', snat: true, capabilities: { portMappings: true } },
    ],
  };
}

/** Least privilege: every verb and resource named, nothing wildcarded. */
export function clusterRole(): Obj {
  const readOnly = ['get', 'list', 'watch'];
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: APP },
    rules: [
      { apiGroups: [''], resources: ['pods', 'namespaces', 'nodes'], verbs: readOnly },
      { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: readOnly },
      // Secrets hold BGP passwords; BGPPeer.password.secretKeyRef names them.
      { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
      {
        apiGroups: ['trellis.network'],
        resources: resourceDefinitions
          .filter((d) => !isIpamKind(d.kind) && d.kind !== 'TrellisNode')
          .map((d) => d.plural),
        verbs: readOnly,
      },
      {
        // IPAM state and the node's own registration are written by the agent (CAS updates).
        apiGroups: ['trellis.network'],
        resources: resourceDefinitions
          .filter((d) => isIpamKind(d.kind) || d.kind === 'TrellisNode')
          .map((d) => d.plural),
        verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'],
      },
    ],
  };
}

const isIpamKind = (kind: string): boolean => kind === 'IPAMBlock' || kind === 'BlockAffinity';

function daemonSet(): Obj {
  const hostPath = (name: string, path: string, type: string): Obj => ({ name, hostPath: { path, type } });
  const probe = (path: string, period: number): Obj => ({
    httpGet: { path, port: AGENT_HTTP_PORT, host: '127.0.0.1' },
    periodSeconds: period,
    timeoutSeconds: 3,
    failureThreshold: 3,
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: APP, namespace: NAMESPACE, labels: { app: APP } },
    spec: {
      selector: { matchLabels: { app: APP } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels: { app: APP } },
        spec: {
          serviceAccountName: APP,
          hostNetwork: true,
          dnsPolicy: 'ClusterFirstWithHostNet',
          priorityClassName: 'system-node-critical',
          // Networking must come up on every node, tainted or not, before anything else can.
          tolerations: [{ operator: 'Exists' }],
          terminationGracePeriodSeconds: 30,
          initContainers: [
            {
              name: 'install-cni',
              image: IMAGE,
              command: ['/opt/trellis/scripts/install-cni.sh'],
              env: [{ name: 'CONFLIST_NAME', value: CONFLIST_NAME }],
              securityContext: {
                runAsUser: 0,
                capabilities: { drop: ['ALL'], add: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER'] },
              },
              volumeMounts: [
                { name: 'cni-bin', mountPath: '/host/opt/cni/bin' },
                { name: 'cni-net', mountPath: '/host/etc/cni/net.d' },
                { name: 'cni-config', mountPath: '/etc/trellis/cni', readOnly: true },
              ],
            },
          ],
          containers: [
            {
              name: 'agent',
              image: IMAGE,
              command: ['node', '/opt/trellis/dist/src/cli/main.js'],
              args: [
                'agent',
                '--datastore-type=kubernetes',
                '--node=$(NODE_NAME)',
                '--ipv4=$(NODE_IP)',
                `--cni-socket=${CNI_SOCKET_DIR}/cni.sock`,
                `--http=127.0.0.1:${AGENT_HTTP_PORT}`,
                // The speaker routes other nodes' blocks; its control socket is bgp.sock beside cni.sock.
                '--bgp',
              ],
              env: [
                { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
                { name: 'NODE_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
                { name: 'TRELLIS_LOG_FORMAT', value: 'json' },
              ],
              // Privileged: per-interface sysctls need a writable /proc/sys (runtimes mount it
              // read-only otherwise), and setns into pod namespaces needs CAP_SYS_ADMIN.
              securityContext: { privileged: true },
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
              livenessProbe: { ...probe('/healthz', 10), initialDelaySeconds: 10 },
              readinessProbe: probe('/readyz', 5),
              volumeMounts: [
                { name: 'trellis-run', mountPath: CNI_SOCKET_DIR },
                { name: 'netns', mountPath: '/run/netns', mountPropagation: 'HostToContainer' },
                { name: 'var-run-netns', mountPath: '/var/run/netns', mountPropagation: 'HostToContainer' },
                { name: 'xtables-lock', mountPath: '/run/xtables.lock' },
              ],
            },
          ],
          volumes: [
            hostPath('cni-bin', '/opt/cni/bin', 'DirectoryOrCreate'),
            hostPath('cni-net', '/etc/cni/net.d', 'DirectoryOrCreate'),
            hostPath('trellis-run', CNI_SOCKET_DIR, 'DirectoryOrCreate'),
            hostPath('netns', '/run/netns', 'DirectoryOrCreate'),
            hostPath('var-run-netns', '/var/run/netns', 'DirectoryOrCreate'),
            hostPath('xtables-lock', '/run/xtables.lock', 'FileOrCreate'),
            { name: 'cni-config', configMap: { name: 'trellis-cni-config' } },
          ],
        },
      },
    },
  };
}

/** Every object of the install, in apply order (CRDs and RBAC before the DaemonSet). */
export function installObjects(): Obj[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
    ...resourceDefinitions.map((d) => crdFor(d)),
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: APP, namespace: NAMESPACE } },
    clusterRole(),
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: APP },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: APP },
      subjects: [{ kind: 'ServiceAccount', name: APP, namespace: NAMESPACE }],
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'trellis-cni-config', namespace: NAMESPACE },
      data: { [CONFLIST_NAME]: `${JSON.stringify(conflist(), null, 2)}\n` },
    },
    daemonSet(),
  ];
}

export function renderInstallManifest(): string {
  const header =
    '# Generated by `node dist/src/deploy/gen-manifest.js` from the Trellis sources. Do not edit.\n';
  return (
    header +
    installObjects()
      .map((o) => `---\n${stringify(o, { lineWidth: 0 })}`)
      .join('')
  );
}

export const kustomization = (): string =>
  `${stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['trellis.yaml'] })}`;
