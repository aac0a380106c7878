/**
 * The name an original is saved under says what it is: an uploader chooses the file name, the archive
 * checked the bytes. A JPEG named `statement.html` saved as such opens in a colleague's browser as a web
 * page (a JPEG comment can carry markup), so the saved name ends in the extension of the type archived.
 */
import { documentFile } from '../../../shared/documents/download';
import { ingestDocument } from '../../../shared/documents/ingest';
import type { Principal } from '../../../shared/kernel/principal';
import { inMemoryDeps } from '../../support/in-memory';

const principal: Principal = { tenantId: 'acme', subject: 'u', kind: 'user', rightsSet: 'uploader', permissions: new Set(['documents:write', 'documents:read']) };

async function savedName(fileName: string): Promise<{ name: string; blobName: string }> {
  const deps = inMemoryDeps();
  const { document } = await ingestDocument({ principal, files: [{ bytes: Buffer.from([1, 2, 3]), fileName }], metadata: {}, idempotencyKey: null }, deps);
  const file = await documentFile({ tenantId: 'acme', documentId: document.id, representation: 'original', part: 1 }, deps);
  return { name: file.name, blobName: document.originals[0]!.blobName };
}

it.each(['statement.html', 'statement.svg', 'setup.exe', 'statement', 'statement.png.html'])('an original uploaded as %s is saved with the extension of its type', async (fileName) => {
  const { name, blobName } = await savedName(fileName);
  const ext = blobName.split('.').pop()!;
  expect(name).toBe(`${fileName}.${ext}`);
});

it('keeps a name whose extension already says the type', async () => {
  const { name, blobName } = await savedName('scan.PNG');
  expect(blobName.endsWith('.png')).toBe(true);
  expect(name).toBe('scan.PNG');
});
