// The Kubernetes datastore: the Datastore contract on the API server (docs/kubernetes-datastore.md).
export { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
export { type ApiServerSource, loadKubeConfig } from './config.js';
export { KubernetesDatastore, type KubernetesDatastoreOptions } from './datastore.js';
export { apiError, parseStatus, reasonFor, transportError } from './errors.js';
export { Informer, type InformerHandlers, type InformerOptions, relistEvents } from './informer.js';
export { type NodeHints, nodeHints } from './node-hints.js';
export { restPath } from './paths.js';
