import type { QueueServiceClient } from '@azure/storage-queue';
import { ValidationQueue } from '../../../shared/adapters/azure/validation-queue';

/**
 * A queue service as the Node app's identity sees it in Azure (infra/main.bicep): Storage Queue Data Message
 * Sender on `rendition-validation`, which adds messages but holds no queues/write, so Create Queue is a 403,
 * and no role at all on `rendition-validation-poison`.
 */
function asMessageSender() {
  const sent: { queue: string; text: string }[] = [];
  const creates: string[] = [];
  const service = {
    getQueueClient: (queue: string) => ({
      createIfNotExists: async () => {
        creates.push(queue);
        throw Object.assign(new Error('This request is not authorized to perform this operation using this permission.'), { statusCode: 403, code: 'AuthorizationPermissionMismatch' });
      },
      sendMessage: async (text: string) => {
        if (queue !== 'rendition-validation') throw Object.assign(new Error('not authorized'), { statusCode: 403 });
        sent.push({ queue, text });
        return {};
      },
    }),
  } as unknown as QueueServiceClient;
  return { service, sent, creates };
}

const request = { tenantId: 'acme', documentId: 'doc-1', renditionSha256: 'a'.repeat(64) };

describe('the validation queue with the Node app\'s Azure rights', () => {
  it('sends a request without creating queues (the Bicep creates them; Message Sender cannot)', async () => {
    const { service, sent, creates } = asMessageSender();
    await new ValidationQueue(service, 'rendition-validation').send([request]);
    expect(creates).toEqual([]);
    expect(sent).toHaveLength(1);
    expect(JSON.parse(Buffer.from(sent[0]!.text, 'base64').toString('utf8'))).toEqual({ requests: [request] });
  });

  it('creates them only when asked (the local host, against Azurite)', async () => {
    const { service, creates } = asMessageSender();
    await expect(new ValidationQueue(service, 'rendition-validation', { createQueues: true }).send([request])).rejects.toThrow(/not authorized/);
    expect(creates.sort()).toEqual(['rendition-validation', 'rendition-validation-poison']);
  });
});
