/**
 * Validation requests are gathered per instance: several uploads' requests share one queue
 * message, sent after the uploads were answered, and a failing queue never fails an upload.
 */
import type { ArchivedDocument } from '../../../shared/kernel/document';
import { parseValidationMessage, ValidationRequest, validationMessageText, VALIDATION_REQUESTS_PER_MESSAGE } from '../../../shared/kernel/validation';
import { ValidationRequests } from '../../../shared/validation/request';
import { InMemoryValidationQueue, RecordingLogger } from '../../support/in-memory';

const hash = (n: number) => n.toString(16).padStart(64, '0');
const doc = (n: number) => ({ tenantId: 'acme', id: `doc-${n}`, rendition: { sha256: hash(n) } }) as unknown as ArchivedDocument;
const request = (n: number): ValidationRequest => ({ tenantId: 'acme', documentId: `doc-${n}`, renditionSha256: hash(n) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ValidationRequests', () => {
  it('sends the requests of one linger window in one message, and none before it ends', async () => {
    const queue = new InMemoryValidationQueue();
    const requests = new ValidationRequests({ validationQueue: queue, log: new RecordingLogger() }, 40);
    requests.add(doc(1));
    requests.add(doc(2));
    requests.add(doc(3));
    expect(queue.messages).toEqual([]);
    await sleep(80);
    expect(queue.messages).toEqual([[request(1), request(2), request(3)]]);
    requests.add(doc(4));
    await requests.flush();
    expect(queue.messages).toEqual([[request(1), request(2), request(3)], [request(4)]]);
  });

  it('a full message goes at once; the rest waits for its own window', async () => {
    const queue = new InMemoryValidationQueue();
    const requests = new ValidationRequests({ validationQueue: queue, log: new RecordingLogger() }, 60_000);
    for (let n = 0; n < VALIDATION_REQUESTS_PER_MESSAGE + 1; n++) requests.add(doc(n));
    await sleep(0);
    expect(queue.messages.map((m) => m.length)).toEqual([VALIDATION_REQUESTS_PER_MESSAGE]);
    await requests.flush();
    expect(queue.messages.map((m) => m.length)).toEqual([VALIDATION_REQUESTS_PER_MESSAGE, 1]);
    expect(queue.sent).toEqual(Array.from({ length: VALIDATION_REQUESTS_PER_MESSAGE + 1 }, (_, n) => request(n)));
  });

  it('a queue that refuses is logged with the requests it lost (maintenance asks again); nothing throws', async () => {
    const log = new RecordingLogger();
    const refusing = Object.assign(new InMemoryValidationQueue(), { send: () => Promise.reject(new Error('queue down')) });
    const requests = new ValidationRequests({ validationQueue: refusing, log }, 0);
    expect(() => requests.add(doc(7))).not.toThrow();
    await expect(requests.flush()).resolves.toBeUndefined();
    expect(log.lines).toEqual([{ level: 'warn', message: 'rendition validation not requested; the maintenance pass asks again', fields: { requests: [request(7)], error: 'Error: queue down' } }]);
  });

  it('flush waits for sends under way', async () => {
    let release: () => void = () => undefined;
    const queue = new InMemoryValidationQueue();
    const slow = Object.assign(queue, { send: (rs: readonly ValidationRequest[]) => new Promise<void>((resolve) => (release = () => (queue.sent.push(...rs), resolve()))) });
    const requests = new ValidationRequests({ validationQueue: slow, log: new RecordingLogger() }, 0);
    requests.add(doc(1));
    let flushed = false;
    const flush = requests.flush().then(() => (flushed = true));
    await sleep(10);
    expect(flushed).toBe(false);
    release();
    await flush;
    expect(queue.sent).toEqual([request(1)]);
  });
});

describe('validation queue messages', () => {
  it('round-trip several requests', () => {
    const text = validationMessageText([request(1), request(2)]);
    expect(JSON.parse(text)).toEqual({ requests: [request(1), request(2)] });
    expect(parseValidationMessage(text)).toEqual([request(1), request(2)]);
  });

  it('read a bare request, as sent before requests were gathered', () => {
    expect(parseValidationMessage(JSON.stringify(request(5)))).toEqual([request(5)]);
  });

  it.each([
    ['not JSON', 'not-json'],
    ['a JSON string', '"x"'],
    ['no requests', '{"requests":[]}'],
    ['requests not a list', '{"requests":{}}'],
    ['one bad hash among good ones', JSON.stringify({ requests: [request(1), { ...request(2), renditionSha256: 'x' }] })],
    ['a missing tenant', JSON.stringify({ requests: [{ documentId: 'd', renditionSha256: hash(1) }] })],
    ['more than a message may carry', JSON.stringify({ requests: Array.from({ length: VALIDATION_REQUESTS_PER_MESSAGE + 1 }, (_, n) => request(n)) })],
  ])('refuse %s as a whole (poisoned)', (_, text) => {
    expect(parseValidationMessage(text)).toBeNull();
  });
});
