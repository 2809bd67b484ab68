// Kubernetes kinds the embedded store keeps as they are. Their content is validated by the
// modules that read them (policy/, agent/); here only naming and scope.
import type { KindInfo, PrinterColumn } from './definition.js';
import { AGE_COLUMN } from './definition.js';

const kind = (
  apiVersion: string,
  name: string,
  plural: string,
  shortNames: readonly string[],
  namespaced: boolean,
  columns: readonly PrinterColumn[] = [],
): KindInfo => ({
  apiVersion,
  kind: name,
  plural,
  singular: name.toLowerCase(),
  shortNames,
  namespaced,
  printerColumns: [...columns, AGE_COLUMN],
});

export const kubernetesKinds: readonly KindInfo[] = [
  kind('v1', 'Namespace', 'namespaces', ['ns'], false),
  kind('v1', 'Pod', 'pods', ['po'], true, [
    { name: 'IP', type: 'string', jsonPath: '.status.podIP' },
    { name: 'Node', type: 'string', jsonPath: '.spec.nodeName' },
  ]),
  kind('networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies', ['netpol'], true),
  kind('v1', 'Node', 'nodes', ['no'], false),
  // BGPPeer.spec.password.secretKeyRef names one; the agent only reads it.
  kind('v1', 'Secret', 'secrets', [], true),
];
