import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { socketAccepts } from '../../src/net/unix-socket.js';
import { waitFor } from '../wait.js';

describe('net/unix-socket socketAccepts', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-sock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is true while a daemon listens and false on the socket file it left when killed', async () => {
    const path = join(dir, 'daemon.vty');
    const daemon = spawn(
      process.execPath,
      ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)})`],
      {
        stdio: 'ignore',
      },
    );
    const exited = new Promise((resolve) => daemon.once('exit', resolve));
    try {
      await waitFor(
        'the daemon listening',
        10_000,
        async () => ((await socketAccepts(path)) ? true : undefined),
        20,
      );
    } finally {
      daemon.kill('SIGKILL');
      await exited;
    }
    assert.ok(existsSync(path), 'the socket file outlives a killed daemon');
    assert.equal(await socketAccepts(path), false);
  });

  it('is false for a missing file or a plain one and rejects when the path cannot be reached', async () => {
    assert.equal(await socketAccepts(join(dir, 'missing.sock')), false);
    const plain = join(dir, 'plain');
    writeFileSync(plain, '');
    assert.equal(await socketAccepts(plain), false);
    await assert.rejects(socketAccepts(join(plain, 'below')), { code: 'ENOTDIR' });
  });
});
