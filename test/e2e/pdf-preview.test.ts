/**
 * pdf.js in the page, under the app's CSP: a PDF that does not embed its font (Helvetica, one of the 14
 * standard fonts) is drawn with pdf.js's own standard font data, fetched from the app's origin, with no
 * warning or error on the console. The archive's renditions embed their fonts (PDF/A), so the browser is
 * handed such a PDF in place of the rendition (Playwright's request routing); everything else is real.
 */
import type { Browser } from 'playwright-core';
import { launchBrowser, openPage, screenshot, signIn, type OpenedPage } from '../support/browser';
import { e2eTarget } from '../support/e2e-target';
import { corpusFile, newTenant } from '../support/harness';
import { call, multipart } from '../support/http';
import * as fs from 'node:fs';
import * as path from 'node:path';

const tenant = newTenant('e2e-pdf');

/** A PDF of these objects (1: catalog, 2: pages, 3: the page, …), with a correct cross-reference table (pdf.js warns about a broken one). */
function pdfOf(objects: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n', 'latin1')];
  let length = parts[0]!.length;
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(length);
    const part = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`, 'latin1'), typeof o === 'string' ? Buffer.from(o, 'latin1') : o, Buffer.from('\nendobj\n', 'latin1')]);
    parts.push(part);
    length += part.length;
  });
  const trailer = `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${length}\n%%EOF\n`;
  return Buffer.concat([...parts, Buffer.from(trailer, 'latin1')]);
}

const stream = (dict: string, data: Buffer) => Buffer.concat([Buffer.from(`<< ${dict} /Length ${data.length} >>\nstream\n`, 'latin1'), data, Buffer.from('\nendstream', 'latin1')]);
const PAGES = ['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [3 0 R] /Count 1 >>'];

/** A one-page PDF with text in Helvetica, not embedded. */
function pdfWithoutEmbeddedFont(): Buffer {
  return pdfOf([
    ...PAGES,
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 320 144] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
    stream('', Buffer.from('BT /F1 28 Tf 24 60 Td (Standard fonts) Tj ET', 'latin1')),
  ]);
}

/** A one-page PDF whose only content is a JPEG 2000 image (JPXDecode, as scanners and PDF/A-2 files may carry): a dark band on white. */
function pdfWithJpxImage(): Buffer {
  const jp2 = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'jpx', 'dark-band.jp2'));
  return pdfOf([
    ...PAGES,
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 288 144] /Resources << /XObject << /Im1 4 0 R >> >> /Contents 5 0 R >>',
    stream('/Type /XObject /Subtype /Image /Width 96 /Height 48 /BitsPerComponent 8 /Filter /JPXDecode', jp2),
    stream('', Buffer.from('q 288 0 0 144 0 0 cm /Im1 Do Q', 'latin1')),
  ]);
}

let browser: Browser;
let opened: OpenedPage;
let documentId = '';

beforeAll(async () => {
  const target = e2eTarget();
  const token = await target.token({ tenant, sub: 'ann@acme.example', rights: 'archivist' });
  const answer = await call(`${target.apiUrl}/documents`, { method: 'POST', token, body: multipart([{ bytes: corpusFile('img2pdf/normal.jpg'), name: 'normal.jpg', type: 'image/jpeg' }], { reference: 'FONTS-1', documentDate: '2025-02-03', kind: 'invoice' }) });
  expect(answer.status).toBe(201);
  documentId = (answer.json as { id: string }).id;
  browser = await launchBrowser();
  opened = await openPage(browser, { locale: 'en-GB' });
});
afterAll(async () => {
  await browser?.close();
});

/** Shows `pdf` as the document's rendition; resolves to the console's warnings and errors and the app-origin asset responses under `assets`. */
async function preview(pdf: Buffer, assets: string): Promise<{ messages: string[]; fetched: { url: string; status: number }[] }> {
  const { page, context } = opened;
  const messages: string[] = [];
  const onConsole = (m: { type(): string; text(): string }) => {
    if (m.type() !== 'debug' && m.type() !== 'info') messages.push(`${m.type()}: ${m.text()}`);
  };
  page.on('console', onConsole);
  const fetched: { url: string; status: number }[] = [];
  context.on('response', (r) => {
    if (r.url().includes(assets)) fetched.push({ url: r.url(), status: r.status() });
  });
  await page.unroute(`**/api/documents/${documentId}/rendition`);
  await page.route(`**/api/documents/${documentId}/rendition`, (route) => route.fulfill({ status: 200, contentType: 'application/pdf', body: pdf }));
  // The session lives in memory: each visit signs in again.
  await page.goto(new URL(`/documents/${documentId}`, e2eTarget().appUrl).toString());
  await signIn(page, { tenant, person: 'carla@acme.example', rightsSet: 'accountant' });
  await page.waitForSelector('.pdf-preview[aria-busy="false"] canvas');
  page.off('console', onConsole);
  return { messages: messages.filter((m) => !/status of 40[03]/.test(m)), fetched };
}

/** How many of the canvas's pixels are dark (text or the image's band was drawn). */
const darkPixels = () =>
  opened.page.evaluate<number>(`(() => {
    const c = document.querySelector('.pdf-preview canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i] < 130 && d[i + 1] < 130 && d[i + 2] < 160) n++;
    return n;
  })()`);

it('draws a PDF without embedded fonts with the standard fonts from the app itself, no console warnings', async () => {
  const { messages, fetched: fonts } = await preview(pdfWithoutEmbeddedFont(), '/standard_fonts/');
  // pdf.js reports a missing standardFontDataUrl (or wasm, or eval) as a console warning: none here.
  expect(messages).toEqual([]);
  const appOrigin = new URL(e2eTarget().appUrl).origin;
  expect(fonts.length).toBeGreaterThan(0);
  for (const f of fonts) {
    expect(new URL(f.url).origin).toBe(appOrigin);
    expect(f.url).toMatch(/\/assets\/pdfjs-[\d.]+\/standard_fonts\/[\w-]+\.(pfb|ttf)$/);
    expect(f.status).toBe(200);
  }
  expect(await darkPixels()).toBeGreaterThan(100);
  await screenshot(opened.page, 'pdf-preview-standard-fonts');
});

it('draws a JPEG 2000 image with the JavaScript decoder from the app itself (no WebAssembly under the CSP), no console warnings', async () => {
  const { messages, fetched } = await preview(pdfWithJpxImage(), '/wasm/');
  expect(messages).toEqual([]);
  expect(fetched.map((f) => [new URL(f.url).pathname.replace(/pdfjs-[\d.]+/, 'pdfjs-V'), f.status])).toEqual([['/assets/pdfjs-V/wasm/openjpeg_nowasm_fallback.js', 200]]);
  // The band covers a third of the page's height across most of its width.
  const { width, height } = await opened.page.evaluate<{ width: number; height: number }>(`(() => { const c = document.querySelector('.pdf-preview canvas'); return { width: c.width, height: c.height }; })()`);
  expect(await darkPixels()).toBeGreaterThan(width * height * 0.2);
  await screenshot(opened.page, 'pdf-preview-jpx');
});

it('draws a JBIG2 image (a PDF as scanners write them) with the JavaScript decoder, no console errors', async () => {
  const { messages } = await preview(corpusFile('ocrmypdf/jbig2.pdf'), '/wasm/');
  // pdf.js says once that it uses its JavaScript JBIG2 decoder (WebAssembly is not allowed here): a warning, not a failure.
  expect(messages.filter((m) => !/Falling back to JS JBIG2 decoder/.test(m))).toEqual([]);
  expect(await darkPixels()).toBeGreaterThan(1000);
  await screenshot(opened.page, 'pdf-preview-jbig2');
});
