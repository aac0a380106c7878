/**
 * The rendition drawn into a canvas by pdf.js. This module (and pdf.js with it) is its own chunk,
 * loaded only when a document is opened; the worker is a bundled file, so CSP worker-src 'self' holds.
 */
import * as pdfjs from 'pdfjs-dist';
import { useEffect, useRef, useState } from 'react';
import { useI18n } from '../i18n';
import { fetchWhole } from '../lib/verified-download';

pdfjs.GlobalWorkerOptions.workerSrc = new URL('pdfjs-dist/build/pdf.worker.min.mjs', import.meta.url).toString();

/** Copied into the build by web/vite.config.mts (same origin). */
declare const __PDFJS_STANDARD_FONTS__: string;
declare const __PDFJS_WASM__: string;

export default function PdfPreview({ path }: { path: string }) {
  const { t } = useI18n();
  const canvas = useRef<HTMLCanvasElement>(null);
  const [doc, setDoc] = useState<pdfjs.PDFDocumentProxy | null>(null);
  const [page, setPage] = useState(1);
  const [failed, setFailed] = useState(false);
  const [rendered, setRendered] = useState(false);

  useEffect(() => {
    let cancelled = false;
    let loaded: pdfjs.PDFDocumentProxy | null = null;
    (async () => {
      // Like a download: a large rendition comes from storage (303), or to support in Range pieces.
      const bytes = new Uint8Array(await (await fetchWhole(path)).body.arrayBuffer());
      // No eval and no WebAssembly (CSP script-src 'self' has neither 'unsafe-eval' nor 'wasm-unsafe-eval': ICC
      // colours fall back to their alternate space, JBIG2 to pdf.js's JavaScript decoder, JPEG 2000 to OpenJPEG
      // compiled to JavaScript); the 14 standard fonts and that decoder come from our own build.
      loaded = await pdfjs.getDocument({ data: bytes, isEvalSupported: false, useSystemFonts: false, useWasm: false, standardFontDataUrl: __PDFJS_STANDARD_FONTS__, wasmUrl: __PDFJS_WASM__ }).promise;
      if (cancelled) await loaded.destroy();
      else setDoc(loaded);
    })().catch(() => !cancelled && setFailed(true));
    return () => {
      cancelled = true;
      void loaded?.destroy();
    };
  }, [path]);

  useEffect(() => {
    if (!doc || !canvas.current) return;
    let task: pdfjs.RenderTask | null = null;
    (async () => {
      const p = await doc.getPage(page);
      const el = canvas.current!;
      const width = Math.min(el.parentElement?.clientWidth ?? 800, 900);
      const base = p.getViewport({ scale: 1 });
      const ratio = window.devicePixelRatio || 1;
      const viewport = p.getViewport({ scale: (width / base.width) * ratio });
      el.width = Math.floor(viewport.width);
      el.height = Math.floor(viewport.height);
      el.style.width = `${Math.floor(viewport.width / ratio)}px`;
      task = p.render({ canvas: el, viewport });
      await task.promise;
      setRendered(true);
    })().catch((err: unknown) => {
      if (!(err instanceof Error && err.name === 'RenderingCancelledException')) setFailed(true);
    });
    return () => task?.cancel();
  }, [doc, page]);

  if (failed) return <p className="muted">{t.document.previewFailed}</p>;
  const total = doc?.numPages ?? 0;
  return (
    <div className="pdf-preview" aria-busy={!rendered}>
      {!doc && <p role="status">{t.document.previewLoading}</p>}
      {total > 1 && (
        <div className="pdf-pager">
          <button type="button" className="secondary" disabled={page <= 1} onClick={() => setPage(page - 1)}>{t.document.previousPage}</button>
          <span aria-live="polite">{t.document.pageOf(page, total)}</span>
          <button type="button" className="secondary" disabled={page >= total} onClick={() => setPage(page + 1)}>{t.document.nextPage}</button>
        </div>
      )}
      <canvas ref={canvas} role="img" aria-label={doc ? t.document.pageOf(page, total) : t.document.previewLoading} />
    </div>
  );
}
