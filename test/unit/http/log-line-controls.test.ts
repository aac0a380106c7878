/**
 * An application log line is one line of visible text, whatever a client sent: the request's
 * own text (here a User-Agent, which the log keeps for a refused credential) goes in as JSON,
 * and no control character, line or paragraph separator or bidirectional override of it reaches
 * the operator's terminal or log viewer raw (a C1 CSI, U+009B, is an escape sequence there).
 */
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { ROUTES } from '../../../functions/routes';
import { createArchiveServer } from '../../../local/server';
import { consoleLogger } from '../../../shared/app';
import { inMemoryDeps } from '../../support/in-memory';

const RAW = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

it('a refused request whose User-Agent holds C1 controls is logged on one line without them raw', async () => {
  const lines: string[] = [];
  const warn = jest.spyOn(console, 'warn').mockImplementation((line: string) => void lines.push(line));
  const server = createArchiveServer(ROUTES, { ...inMemoryDeps(), log: consoleLogger });
  try {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    // Bytes a client may put in a header value (obs-text); Node reads them as Latin-1: U+009B (CSI), U+0085 (NEL).
    const request = Buffer.concat([
      Buffer.from('GET /api/documents HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer nope\r\nConnection: close\r\nUser-Agent: curl'),
      Buffer.from([0x9b, 0x32, 0x4a, 0x85]),
      Buffer.from('{"level":"error","msg":"fixity mismatch"}\r\n\r\n'),
    ]);
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.end(request));
      socket.on('data', () => undefined).on('end', resolve).on('error', reject);
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
    warn.mockRestore();
  }
  const refused = lines.filter((l) => l.includes('request refused before a tenant was known'));
  expect(refused).toHaveLength(1);
  expect(refused[0]).not.toMatch(RAW);
  // Still JSON, and the header's text is all there, escaped.
  expect(JSON.parse(refused[0]!).userAgent).toBe('curl\u009b2J\u0085{"level":"error","msg":"fixity mismatch"}');
});

it('line and paragraph separators and bidirectional overrides in any field are escaped', () => {
  const lines: string[] = [];
  const info = jest.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
  try {
    consoleLogger.info('m', { text: 'a\u2028b\u2029c\u202ed\u2066e\u007ff' });
  } finally {
    info.mockRestore();
  }
  expect(lines[0]).not.toMatch(RAW);
  expect(JSON.parse(lines[0]!).text).toBe('a\u2028b\u2029c\u202ed\u2066e\u007ff');
});
