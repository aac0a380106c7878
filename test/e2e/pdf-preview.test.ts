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

const tenant = newTenant('e2e-pdf');

/** A one-page PDF with text in Helvetica, not embedded; a correct cross-reference table (pdf.js warns about a broken one). */
function pdfWithoutEmbeddedFont(): Buffer {
  const text = 'BT /F1 28 Tf 24 60 Td (Standard fonts) Tj ET';
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 320 144] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
    `<< /Length ${text.length} >>\nstream\n${text}\nendstream`,
  ];
  let body = '%PDF-1.7\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(body.length);
    body += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
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

it('draws a PDF without embedded fonts with the standard fonts from the app itself, no console warnings', async () => {
  const { page, context } = opened;
  const messages: string[] = [];
  page.on('console', (m) => {
    if (m.type() !== 'debug' && m.type() !== 'info') messages.push(`${m.type()}: ${m.text()}`);
  });
  const fonts: { url: string; status: number }[] = [];
  context.on('response', (r) => {
    if (r.url().includes('/standard_fonts/')) fonts.push({ url: r.url(), status: r.status() });
  });
  await page.route(`**/api/documents/${documentId}/rendition`, (route) => route.fulfill({ status: 200, contentType: 'application/pdf', body: pdfWithoutEmbeddedFont() }));

  await page.goto(new URL(`/documents/${documentId}`, e2eTarget().appUrl).toString());
  await signIn(page, { tenant, person: 'carla@acme.example', rightsSet: 'accountant' });
  await page.waitForSelector('.pdf-preview[aria-busy="false"] canvas');

  // pdf.js reports a missing standardFontDataUrl (or wasm, or eval) as a console warning: none here.
  expect(messages.filter((m) => !/status of 40[03]/.test(m))).toEqual([]);
  const appOrigin = new URL(e2eTarget().appUrl).origin;
  expect(fonts.length).toBeGreaterThan(0);
  for (const f of fonts) {
    expect(new URL(f.url).origin).toBe(appOrigin);
    expect(f.url).toMatch(/\/assets\/pdfjs-[\d.]+\/standard_fonts\/[\w-]+\.(pfb|ttf)$/);
    expect(f.status).toBe(200);
  }
  // The text was drawn: the canvas holds dark pixels.
  const dark = await page.evaluate<number>(`(() => {
    const c = document.querySelector('.pdf-preview canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i] < 100 && d[i + 1] < 100 && d[i + 2] < 100) n++;
    return n;
  })()`);
  expect(dark).toBeGreaterThan(100);
  await screenshot(page, 'pdf-preview-standard-fonts');
});
