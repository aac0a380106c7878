/**
 * A queue endpoint that accepts connections and never answers (a half-open link, a stalled proxy):
 * every queue call still ends, refused, so the host's shutdown flush and the maintenance pass are
 * never held for ever. The SDK's own try timeout is only a request to the service.
 */
import * as net from 'node:net';
import { QueueServiceClient } from '@azure/storage-queue';
import { ValidationQueue } from '../../../shared/adapters/azure/validation-queue';
import { ExportWorkQueue } from '../../../shared/adapters/azure/export-work-queue';
import { ValidationRequests } from '../../../shared/validation/request';
import { AZURITE_ACCOUNT, AZURITE_KEY } from '../../../local/emulators';

let silent: net.Server;
const held: net.Socket[] = [];
let service: QueueServiceClient;

beforeAll(async () => {
  silent = net.createServer((socket) => void held.push(socket)); // reads the request, never answers
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as net.AddressInfo;
  service = QueueServiceClient.fromConnectionString(
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};QueueEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT};`,
    { retryOptions: { maxTries: 2, retryDelayInMs: 10, tryTimeoutInMs: 10_000 } },
  );
});
afterAll(async () => {
  held.forEach((s) => s.destroy());
  await new Promise((resolve) => silent.close(resolve));
});

const request = { tenantId: 't-1', documentId: 'd-1', renditionSha256: 'ab'.repeat(32) };

it('every call of the validation queue is refused once its time is up, creating the queues included', async () => {
  const queue = new ValidationQueue(service, 'validation', { createQueues: true, callMs: 200 });
  await expect(queue.send([request])).rejects.toThrow(/abort/i);
  const plain = new ValidationQueue(service, 'validation', { callMs: 200 });
  await expect(plain.send([request])).rejects.toThrow(/abort/i);
  await expect(plain.receive(4, 30)).rejects.toThrow(/abort/i);
  await expect(plain.complete({ messageId: 'm', popReceipt: 'p', dequeueCount: 1, text: '' })).rejects.toThrow(/abort/i);
  await expect(plain.poison({ messageId: 'm', popReceipt: 'p', dequeueCount: 1, text: '' })).rejects.toThrow(/abort/i);
  await expect(plain.peekPoison()).rejects.toThrow(/abort/i);
  // The export queue is the same queue class (storage-queue.ts): its send is bounded too.
  await expect(new ExportWorkQueue(service, 'export-work', { callMs: 200 }).enqueue('t-1', 'e-1')).rejects.toThrow(/abort/i);
  expect(held.length).toBeGreaterThanOrEqual(7); // each call did reach the endpoint
});

it("an export's work sent on a client's request is refused within its own short bound, not the queue's 25 s", async () => {
  // Broke: POST /exports waited out QUEUE_CALL_MS before its 202 (this test's 5 s timeout is far below it).
  await expect(new ExportWorkQueue(service, 'export-work').enqueue('t-1', 'e-1', { withinMs: 200 })).rejects.toThrow(/abort/i);
}, 5_000);

it("an upload's gathered request to such a queue is logged, and the flush behind it ends", async () => {
  const warnings: string[] = [];
  const requests = new ValidationRequests(
    { validationQueue: new ValidationQueue(service, 'validation', { callMs: 200 }), log: { info: () => undefined, warn: (m) => void warnings.push(m), error: () => undefined } },
    5,
  );
  requests.add({ tenantId: 't-1', id: 'd-1', rendition: { sha256: 'ab'.repeat(32) } } as Parameters<ValidationRequests['add']>[0]);
  await requests.flush();
  expect(warnings).toEqual(['rendition validation not requested; the maintenance pass asks again']);
});
