import { createServer } from 'node:net';

/**
 * A TCP port that was free a moment ago on `host` (default 127.0.0.1): binds port 0, reads the
 * port the kernel chose, and releases it. Another process may still grab it before the caller
 * binds it, so callers that can retry should (startSlapd does).
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('freePort: the server has no TCP address'));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}
