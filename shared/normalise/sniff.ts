import { fromBuffer } from 'file-type';
import { ArchiveError } from '../kernel/errors';
import { ACCEPTED_MEDIA_TYPES, AcceptedMediaType, EXTENSION_OF, NormalisedFile } from './types';

/** Decide the type from the bytes alone; the client's header and file name are never trusted. */
export async function sniff(bytes: Buffer): Promise<NormalisedFile> {
  if (bytes.length === 0) throw new ArchiveError('empty_body', { detail: 'The uploaded file has no bytes.' });
  let found: Awaited<ReturnType<typeof fromBuffer>>;
  try {
    found = await fromBuffer(bytes);
  } catch {
    found = undefined; // file-type gives up on some short or odd inputs (End-Of-Stream): not a type we know
  }
  const mime = found?.mime as string | undefined;
  if (!mime || !(ACCEPTED_MEDIA_TYPES as readonly string[]).includes(mime)) {
    throw new ArchiveError('unsupported_media_type', {
      detail: `The file's bytes are ${mime ? `of type ${mime}` : 'not of any recognised type'}; accepted are ${ACCEPTED_MEDIA_TYPES.join(', ')}.`,
      extensions: { detectedType: mime ?? null, accepted: [...ACCEPTED_MEDIA_TYPES] },
    });
  }
  const mediaType = mime as AcceptedMediaType;
  return { mediaType, extension: EXTENSION_OF[mediaType] };
}
