import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';
import type { Resource } from '../../src/datastore/types.js';
import { crdFileName, crdFor, renderCrd } from '../../src/resources/crd.js';
import { defaultCrdDir, generateCrds } from '../../src/resources/gen-crds.js';
import { type ResourceDefinition, resourceDefinitions, validateResource } from '../../src/resources/index.js';
import { sample, validSamples, withSpec } from './samples.js';

const crdDir = defaultCrdDir();

async function committedCrd(
  def: ResourceDefinition,
): Promise<{ text: string; crd: Record<string, unknown> }> {
  const text = await readFile(path.join(crdDir, crdFileName(def)), 'utf8');
  return { text, crd: parse(text) as Record<string, unknown> };
}

/** openAPIV3Schema of a parsed CRD. */
function embeddedSchema(crd: Record<string, unknown>): Record<string, unknown> {
  const spec = crd['spec'] as { versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] };
  return spec.versions[0]!.schema.openAPIV3Schema;
}

/**
 * An ajv set up independently of src/resources, with 'cidr' as the API server reads it
 * (Go net.ParseCIDR: any address plus a length, host bits allowed).
 */
function independentAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true });
  addFormatsModule.default(ajv, ['ipv4', 'ipv6']);
  ajv.addFormat('cidr', (s: string) => {
    const m = /^([^/]+)\/(0|[1-9][0-9]*)$/.exec(s);
    const family = m ? isIP(m[1]!) : 0;
    return family !== 0 && Number(m![2]) <= (family === 4 ? 32 : 128);
  });
  return ajv;
}

/** Objects every layer must reject on schema grounds alone (no semantic rule involved). */
const schemaInvalid: readonly Resource[] = [
  withSpec(sample('IPPool'), { cidr: 'not-a-cidr' }),
  withSpec(sample('IPPool'), { blockSize: 19 }),
  withSpec(sample('IPPool'), { natOutgoing: 'yes' }),
  { ...sample('IPPool'), spec: {} },
  withSpec(sample('BGPConfiguration'), { holdTime: 1 }),
  withSpec(sample('BGPConfiguration'), { listenPort: 0 }),
  withSpec(sample('BGPConfiguration'), { communities: [{ prefix: '10.0.0.0/8' }] }),
  withSpec(sample('BGPPeer'), { peerIP: 'peer.example' }),
  withSpec(sample('BGPPeer'), { password: {} }),
  withSpec(sample('BGPPeer'), { node: 'node-1' }),
  withSpec(sample('BGPPeer'), { nextHopMode: 'Never' }),
  withSpec(sample('TrellisNode'), { addresses: {} }),
  withSpec(sample('IPAMBlock'), { affinity: 5 }),
  withSpec(sample('IPAMBlock'), { unallocated: [-1] }),
  withSpec(sample('BlockAffinity'), { state: 'claimed' }),
];

describe('resources/crd', () => {
  it('committed manifests are exactly what the definitions generate', async () => {
    for (const def of resourceDefinitions) {
      const { text, crd } = await committedCrd(def);
      assert.equal(
        text,
        renderCrd(def),
        `${crdFileName(def)} is stale: run node dist/src/resources/gen-crds.js`,
      );
      assert.deepEqual(crd, JSON.parse(JSON.stringify(crdFor(def))));
    }
    assert.deepEqual(await generateCrds(crdDir, true), []);
  });

  it('the generator writes every manifest, then finds nothing stale, then spots an edit', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'trellis-crds-test-'));
    try {
      assert.equal((await generateCrds(dir, false)).length, resourceDefinitions.length);
      assert.deepEqual((await readdir(dir)).sort(), resourceDefinitions.map(crdFileName).sort());
      assert.deepEqual(await generateCrds(dir, true), []);
      const edited = path.join(dir, crdFileName(resourceDefinitions[0]!));
      await writeFile(edited, `${await readFile(edited, 'utf8')}# hand edit\n`);
      assert.deepEqual(await generateCrds(dir, true), [edited]);
      assert.match(await readFile(edited, 'utf8'), /# hand edit/, '--check must not write');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names, scope and printer columns come from the definition', async () => {
    const { crd } = await committedCrd(resourceDefinitions.find((d) => d.kind === 'IPPool')!);
    const spec = crd['spec'] as Record<string, unknown>;
    assert.equal((crd['metadata'] as { name: string }).name, 'ippools.trellis.network');
    assert.equal(spec['scope'], 'Cluster');
    assert.deepEqual(spec['names'], {
      kind: 'IPPool',
      listKind: 'IPPoolList',
      plural: 'ippools',
      singular: 'ippool',
      shortNames: ['pool'],
    });
    const columns = (spec['versions'] as { additionalPrinterColumns: { jsonPath: string }[] }[])[0]!
      .additionalPrinterColumns;
    assert.ok(columns.some((c) => c.jsonPath === '.spec.cidr'));
  });

  it('embedded schemas are structural', async () => {
    const problems: string[] = [];
    const FORBIDDEN_IN_BRANCH = [
      'type',
      'default',
      'description',
      'nullable',
      'additionalProperties',
      'properties',
      'items',
    ];
    const walk = (node: Record<string, unknown>, where: string, inBranch: boolean): void => {
      if ('$ref' in node) problems.push(`${where}: $ref`);
      if (Array.isArray(node['type'])) problems.push(`${where}: type array`);
      if (node['additionalProperties'] === false) problems.push(`${where}: additionalProperties false`);
      if (node['uniqueItems'] === true) problems.push(`${where}: uniqueItems`);
      if (inBranch) {
        for (const k of FORBIDDEN_IN_BRANCH)
          if (k in node) problems.push(`${where}: ${k} inside a combinator`);
      } else if (typeof node['type'] !== 'string') {
        problems.push(`${where}: no type`);
      }
      if (node['properties'] !== undefined && node['additionalProperties'] !== undefined) {
        problems.push(`${where}: properties and additionalProperties`);
      }
      for (const [k, v] of Object.entries(
        (node['properties'] ?? {}) as Record<string, Record<string, unknown>>,
      )) {
        walk(v, `${where}.${k}`, false);
      }
      if (typeof node['additionalProperties'] === 'object') {
        walk(node['additionalProperties'] as Record<string, unknown>, `${where}{}`, false);
      }
      if (node['items'] !== undefined) walk(node['items'] as Record<string, unknown>, `${where}[]`, false);
      for (const c of ['anyOf', 'oneOf', 'allOf']) {
        for (const [i, b] of ((node[c] ?? []) as Record<string, unknown>[]).entries())
          walk(b, `${where}.${c}[${i}]`, true);
      }
      if (node['not'] !== undefined) walk(node['not'] as Record<string, unknown>, `${where}.not`, true);
    };
    for (const def of resourceDefinitions) {
      const schema = embeddedSchema((await committedCrd(def)).crd);
      const root = schema['properties'] as Record<string, Record<string, unknown>>;
      assert.deepEqual(
        root['metadata'],
        { type: 'object' },
        `${def.kind}: metadata must stay the API server's`,
      );
      assert.ok(
        !('oneOf' in schema || 'anyOf' in schema || 'not' in schema),
        `${def.kind}: combinator at the root`,
      );
      walk(schema, def.kind, false);
    }
    assert.deepEqual(problems, []);
  });

  it('the CRD schema and validateResource agree on valid and schema-invalid objects', async () => {
    const ajv = independentAjv();
    const validators = new Map<string, ReturnType<Ajv['compile']>>();
    for (const def of resourceDefinitions)
      validators.set(def.kind, ajv.compile(embeddedSchema((await committedCrd(def)).crd)));
    for (const obj of validSamples) {
      const validate = validators.get(obj.kind)!;
      // The API server validates after defaulting, as validateResource does.
      const defaulted = validateResource(obj);
      assert.ok(validate(defaulted), `${obj.kind} ${obj.metadata.name}: ${JSON.stringify(validate.errors)}`);
    }
    for (const obj of schemaInvalid) {
      assert.throws(() => validateResource(obj), `validateResource accepted ${JSON.stringify(obj.spec)}`);
      assert.equal(
        validators.get(obj.kind)!(obj),
        false,
        `CRD schema accepted ${obj.kind} ${JSON.stringify(obj.spec)}`,
      );
    }
  });
});
