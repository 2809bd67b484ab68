// Whether a Unix stream socket has a listener. A socket file outlives a daemon that was killed,
// so its existence alone says nothing: only a connection that is accepted does.
import { createConnection } from 'node:net';

/**
 * Resolves true when a connection to `path` is accepted (and closes it at once), false when it
 * is refused (no listener, or a file that is not a socket) or there is no file; rejects on any
 * other error (permissions, a path through a file).
 */
export function socketAccepts(path: string): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED' || e.code === 'ENOENT') resolve(false);
      else reject(e);
    });
  });
}
