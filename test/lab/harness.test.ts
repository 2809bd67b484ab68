import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { cleanupByPrefix, listLabNamespaces, requireRoot } from './helpers.js';

const MOCHA = createRequire(import.meta.url).resolve('mocha/bin/mocha.js');
const SETUP = fileURLToPath(new URL('../setup.js', import.meta.url));
const LEAKY = fileURLToPath(new URL('./fixtures/leaky.spec.js', import.meta.url));

describe('test harness root hooks (root)', function () {
  this.timeout(30000);
  let leaked: string | undefined;

  beforeEach(function () {
    requireRoot(this);
  });

  afterEach(async () => {
    if (leaked !== undefined) await cleanupByPrefix(leaked);
  });

  it('fail a run that leaves a lab behind, name what was left, and remove it', async () => {
    const r = await execa(process.execPath, [MOCHA, '--no-config', '--require', SETUP, LEAKY], {
      reject: false,
    });
    leaked = /LEAKED (\w+)/.exec(r.stdout)?.[1];
    assert.ok(leaked !== undefined, r.stdout);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stdout, new RegExp(`left things behind \\(now removed\\): namespaces: \\[${leaked}-a\\]`));
    assert.match(r.stdout, /processes: \[\d+\]/);
    assert.deepEqual(listLabNamespaces(leaked), []);
  });
});
