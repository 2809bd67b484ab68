// The install manifest: committed files equal what the sources generate, every object is valid
// against the Kubernetes OpenAPI schemas (kubernetes-models), RBAC names every verb and resource,
// the shipped conflist is one our plugin accepts, and the init container installs atomically.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { parseAllDocuments } from 'yaml';
import { checkNetConfig } from '../../agent/cni/config-schema.js';
import { manifestFiles } from '../../src/deploy/gen-manifest.js';
import { repoRoot, syncGeneratedFiles } from '../../src/deploy/generated-files.js';
import { CONFLIST_NAME, installObjects } from '../../src/deploy/manifest.js';

type Obj = Record<string, unknown> & { kind: string };

const MODELS: Record<string, new (o: never) => { validate(): void }> = {
  Namespace,
  CustomResourceDefinition,
  ServiceAccount,
  ClusterRole,
  ClusterRoleBinding,
  ConfigMap,
  DaemonSet,
};

describe('install manifest', () => {
  const committed = (): Obj[] =>
    parseAllDocuments(readFileSync(join(repoRoot(), 'manifests/trellis.yaml'), 'utf8'))
      .map((d) => d.toJS() as Obj)
      .filter((o) => o !== null);

  it('is what the sources generate (run node dist/src/deploy/gen-manifest.js after changing them)', async () => {
    assert.deepEqual(await syncGeneratedFiles(manifestFiles(), true), []);
  });

  it('validates every object against the Kubernetes OpenAPI schemas', () => {
    const objects = committed();
    assert.deepEqual([...new Set(objects.map((o) => o.kind))].sort(), Object.keys(MODELS).sort());
    for (const obj of objects) {
      const Model = MODELS[obj.kind];
      assert.ok(Model, `no schema for ${obj.kind}`);
      new Model(obj as never).validate();
    }
  });

  it('the schema check does reject a broken DaemonSet', () => {
    const ds = structuredClone(installObjects().find((o) => o['kind'] === 'DaemonSet')) as Obj;
    ((ds['spec'] as Obj)['template'] as { spec: { containers: { image: unknown }[] } }).spec
      .containers[0]!.image = 42;
    assert.throws(() => new DaemonSet(ds as never).validate(), /image must be string/);
  });

  it('grants least privilege: no wildcard verbs, resources or groups', () => {
    const role = committed().find((o) => o.kind === 'ClusterRole') as unknown as {
      rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    };
    for (const rule of role.rules) {
      for (const v of [...rule.apiGroups, ...rule.resources, ...rule.verbs]) assert.notEqual(v, '*');
      assert.ok(!rule.verbs.includes('patch') && !rule.verbs.includes('deletecollection'));
    }
  });

  it('ships a conflist whose trellis plugin config passes the plugin schema', () => {
    const cm = committed().find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    const list = JSON.parse(cm.data[CONFLIST_NAME] ?? '') as {
      cniVersion: string;
      name: string;
      plugins: Obj[];
    };
    const plugin = list.plugins.find((p) => p['type'] === 'trellis-cni');
    assert.ok(plugin);
    const { issues } = checkNetConfig({ cniVersion: list.cniVersion, name: list.name, ...plugin });
    assert.deepEqual(issues, { unsupported: [], invalid: [] });
  });

  it('the DaemonSet runs on every node with probes and requests', () => {
    const ds = new DaemonSet(committed().find((o) => o.kind === 'DaemonSet') as never);
    const spec = ds.spec?.template.spec;
    assert.equal(spec?.hostNetwork, true);
    assert.deepEqual(spec?.tolerations, [{ operator: 'Exists' }]);
    const agent = spec?.containers[0];
    assert.equal(agent?.readinessProbe?.httpGet?.path, '/readyz');
    assert.equal(agent?.livenessProbe?.httpGet?.path, '/healthz');
    assert.ok(agent?.resources?.requests?.['cpu']);
    assert.equal(ds.spec?.updateStrategy?.type, 'RollingUpdate');
  });

  it('install-cni.sh installs the shim and conflist by rename, leaving no temporary file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-install-'));
    try {
      writeFileSync(join(dir, 'shim'), '#!/bin/sh\n');
      writeFileSync(join(dir, CONFLIST_NAME), '{}\n');
      execFileSync('sh', [join(repoRoot(), 'scripts/install-cni.sh')], {
        env: {
          PATH: process.env['PATH'] ?? '',
          BIN_SRC: join(dir, 'shim'),
          BIN_DIR: join(dir, 'bin'),
          CONF_SRC: join(dir, CONFLIST_NAME),
          CONF_DIR: join(dir, 'net.d'),
        },
      });
      assert.deepEqual(readdirSync(join(dir, 'bin'), { withFileTypes: false }), ['trellis-cni']);
      assert.deepEqual(readdirSync(join(dir, 'net.d')), [CONFLIST_NAME]);
      assert.equal(readFileSync(join(dir, 'net.d', CONFLIST_NAME), 'utf8'), '{}\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
