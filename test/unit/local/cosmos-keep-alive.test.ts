import * as http from 'node:http';
import { startCosmos } from '../../../local/emulators';

function get(agent: http.Agent, url: string): Promise<{ socket: unknown; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ socket: req.socket, connection: res.headers.connection }));
    });
    req.on('error', reject);
  });
}

// The SDK's own http agent keeps connections alive; the local protocol server must not close them
// after every answer, or each SDK call pays a new TCP connection.
it('the local Cosmos protocol server keeps connections alive, so SDK calls reuse one socket', async () => {
  const cosmos = await startCosmos();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const first = await get(agent, `${cosmos.endpoint}/`);
    const second = await get(agent, `${cosmos.endpoint}/`);
    expect(first.connection).toBe('keep-alive');
    expect(second.socket).toBe(first.socket);
  } finally {
    agent.destroy();
    await cosmos.stop();
  }
});
