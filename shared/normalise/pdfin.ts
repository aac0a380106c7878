import { NormaliseLimits, PageRecord, ConversionRecord } from './types';
import { DocInfo } from './pdfa';
import { validatePdf } from './plain';

export async function normalisePdf(bytes: Buffer, limits: NormaliseLimits, _info: DocInfo): Promise<{ bytes: Buffer; pageCount: number; pages: PageRecord[]; conversion: Pick<ConversionRecord, 'conformance' | 'conformanceReason'> }> {
  const pageCount = await validatePdf(bytes, limits);
  return {
    bytes,
    pageCount,
    pages: Array.from({ length: pageCount }, (_, i) => ({ page: i + 1, sourceFile: 0, sourceFormat: 'application/pdf', handling: 'kept' as const, check: 'stream-identity' as const })),
    conversion: { conformance: 'none', conformanceReason: 'kept' },
  };
}
