// A real TCP exchange between two lab namespaces: a one-shot echo server in one, a client in the
// other; resolves true only when the client reads its own bytes back through the server.
import type { Lab } from '../../src/lab/index.js';

const SERVER = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
const srv = net.createServer((c) => { c.pipe(c); c.on('end', () => srv.close()); });
srv.listen(Number(port), host, () => console.log('listening'));
setTimeout(() => process.exit(2), 5000).unref();
`;

const CLIENT = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port), timeout: 2000 });
s.on('connect', () => s.end('ping'));
let got = '';
s.on('data', (d) => { got += d; });
s.on('end', () => process.exit(got === 'ping' ? 0 : 3));
s.on('timeout', () => process.exit(4));
s.on('error', () => process.exit(5));
`;

export async function tcpEcho(
  lab: Lab,
  fromNs: string,
  toNs: string,
  toAddr: string,
  port = 8080,
): Promise<boolean> {
  const server = await lab.spawn(toNs, process.execPath, ['-e', SERVER, toAddr, String(port)]);
  try {
    // The server prints once listening; poll with the client until it connects or time runs out.
    for (let attempt = 0; attempt < 20; attempt++) {
      const r = await lab.exec(fromNs, process.execPath, ['-e', CLIENT, toAddr, String(port)], {
        allowFailure: true,
      });
      if (r.exitCode === 0) return true;
      if (r.exitCode !== 5) return false;
      await new Promise((res) => setTimeout(res, 100));
    }
    return false;
  } finally {
    await lab.stop(server);
  }
}
