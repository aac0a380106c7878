package archive.validator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The validator the Functions host uses: veraPDF's JSON report of one rendition, and the verdict read from it. */
class VeraPdfReportTest {
  /** A one-page PDF with no PDF/A metadata or output intent: not PDF/A-2b. */
  private static byte[] plainPdf() {
    List<String> objects = List.of(
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Resources << >> >>");
    StringBuilder pdf = new StringBuilder("%PDF-1.7\n");
    List<Integer> offsets = new ArrayList<>();
    for (int i = 0; i < objects.size(); i++) {
      offsets.add(pdf.length());
      pdf.append(i + 1).append(" 0 obj\n").append(objects.get(i)).append("\nendobj\n");
    }
    int xref = pdf.length();
    pdf.append("xref\n0 ").append(objects.size() + 1).append("\n0000000000 65535 f \n");
    for (int offset : offsets) pdf.append(String.format("%010d 00000 n \n", offset));
    pdf.append("trailer\n<< /Size ").append(objects.size() + 1).append(" /Root 1 0 R >>\nstartxref\n").append(xref).append("\n%%EOF\n");
    return pdf.toString().getBytes(StandardCharsets.US_ASCII);
  }

  @Test
  void aPdfWithoutPdfAMetadataFailsWithItsRuleIds() throws Exception {
    byte[] report = ValidateRendition.report("x/rendition.pdf", plainPdf());
    String json = new String(report, StandardCharsets.UTF_8);
    assertTrue(json.contains("\"jobs\""), json);
    ValidateRendition.Outcome outcome = ValidateRendition.outcome(report);
    assertFalse(outcome.compliant());
    assertFalse(outcome.failedRules().isEmpty());
    // 6.6.2.1: the document has no XMP metadata stream (no PDF/A identification).
    assertTrue(outcome.failedRules().stream().anyMatch((rule) -> rule.startsWith("6.6.2.1-")), outcome.failedRules().toString());
  }

  @Test
  void aReportWithoutResultsIsNotAPass() throws Exception {
    assertEquals(new ValidateRendition.Outcome(false, new java.util.TreeSet<>(), ""), ValidateRendition.outcome("{\"report\":{\"jobs\":[{}]}}".getBytes(StandardCharsets.UTF_8)));
  }
}
