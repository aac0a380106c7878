/**
 * The local host reads the path from the request line, as the Functions host does: a path that begins
 * with `//` is a path (not a host name followed by /api/…), and a Host header that names no host is a
 * 400 problem+json, not a 500 with an empty body.
 */
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { ROUTES } from '../../../functions/routes';
import { createArchiveServer } from '../../../local/server';
import { inMemoryDeps } from '../../support/in-memory';

const server = createArchiveServer(ROUTES, inMemoryDeps());
beforeAll(() => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)));
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** One raw HTTP/1.1 exchange (fetch cannot send these request lines): status, content type and body. */
function exchange(target: string, host: string): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect((server.address() as AddressInfo).port, '127.0.0.1', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), type: /\r\ncontent-type: ([^\r]*)/i.exec(head)?.[1], body });
    });
  });
}

it.each(['//evil.example/api/health', '//api/health'])('GET %s is not GET /api/health', async (target) => {
  const res = await exchange(target, 'localhost');
  expect({ status: res.status, type: res.type }).toEqual({ status: 404, type: 'application/problem+json' });
});

it.each(['a b', '[::1', 'a/b', 'x@y'])('Host: %s is a 400 problem+json', async (host) => {
  const res = await exchange('/api/health', host);
  expect({ status: res.status, type: res.type }).toEqual({ status: 400, type: 'application/problem+json' });
  expect(res.body).toMatch(/Host/);
});

it('a plain request, and the absolute form a proxy sends, still read', async () => {
  expect((await exchange('/api/health', 'localhost:7071')).status).toBe(200);
  expect((await exchange('/api/health', '[::1]:7071')).status).toBe(200);
  expect((await exchange('http://localhost:7071/api/health', 'localhost:7071')).status).toBe(200);
});
