package archive.validator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/**
 * The validation app against what happens between a request and its validation: the document disposed of (its
 * rendition gone before or while veraPDF runs), a rendition other than the one requested, storage or veraPDF
 * failing. Dropped requests complete their message; only real failures have it delivered again.
 */
class ValidateRenditionTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TENANT = "acme";
  private static final String DOC = "01953c2e-8a40-7000-8000-000000000001";
  private static final String OTHER = "01953c2e-8a40-7000-8000-000000000002";
  private static final byte[] PDF = "%PDF-1.7 rendition".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] REPORT = "{\"report\":{\"jobs\":[{\"validationResult\":[{\"compliant\":true,\"details\":{\"ruleSummaries\":[]}}]}]}}".getBytes(StandardCharsets.UTF_8);
  private static final Clock CLOCK = Clock.fixed(Instant.parse("2025-03-01T12:00:00Z"), ZoneOffset.UTC);
  /** The validator outcome key of the shared test vector (test/unit/validation/outcome-signature.test.ts). */
  private static final String KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

  /** One storage account's blobs, by "tenant/document/name"; `failure`, when set, is what every call throws. */
  static final class FakeStore implements RenditionStore {
    final Map<String, byte[]> blobs = new HashMap<>();
    RuntimeException failure;

    void putRendition(String tenantId, String documentId, byte[] pdf) {
      blobs.put(tenantId + "/" + documentId + "/rendition.pdf", pdf);
    }

    void dispose(String tenantId, String documentId) {
      blobs.keySet().removeIf((name) -> name.startsWith(tenantId + "/" + documentId + "/"));
    }

    byte[] report(String tenantId, String documentId) {
      return blobs.get(tenantId + "/" + documentId + "/validation.json");
    }

    @Override
    public Optional<byte[]> rendition(String tenantId, String documentId) {
      if (failure != null) throw failure;
      return Optional.ofNullable(blobs.get(tenantId + "/" + documentId + "/rendition.pdf"));
    }

    @Override
    public boolean renditionExists(String tenantId, String documentId) {
      if (failure != null) throw failure;
      return blobs.containsKey(tenantId + "/" + documentId + "/rendition.pdf");
    }

    @Override
    public Optional<byte[]> storeReport(String tenantId, String documentId, byte[] report) {
      if (failure != null) throw failure;
      return Optional.of(blobs.computeIfAbsent(tenantId + "/" + documentId + "/validation.json", (name) -> report));
    }
  }

  /** The lines a handled message logged. */
  static final class Lines extends Handler {
    final List<LogRecord> records = new ArrayList<>();
    final Logger logger = Logger.getAnonymousLogger();

    Lines() {
      logger.setUseParentHandlers(false);
      logger.setLevel(Level.ALL);
      logger.addHandler(this);
    }

    List<String> at(Level level) {
      return records.stream().filter((r) -> r.getLevel().equals(level)).map(LogRecord::getMessage).toList();
    }

    @Override
    public void publish(LogRecord record) {
      records.add(record);
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  }

  private final FakeStore store = new FakeStore();
  private final List<String> outcomes = new ArrayList<>();
  private final Lines lines = new Lines();

  private ValidateRendition app(ValidateRendition.Validator validator) {
    return new ValidateRendition(store, outcomes::add, validator, CLOCK, () -> new OutcomeSignature(KEY));
  }

  private ValidateRendition app() {
    return app((name, pdf) -> REPORT);
  }

  private static String request(String documentId, byte[] pdf) throws Exception {
    return "{\"tenantId\":\"" + TENANT + "\",\"documentId\":\"" + documentId + "\",\"renditionSha256\":\"" + sha256(pdf) + "\"}";
  }

  private static String message(String... requests) {
    return "{\"requests\":[" + String.join(",", requests) + "]}";
  }

  @Test
  void aRequestWhoseRenditionIsGoneIsDroppedQuietly() throws Exception {
    // Disposed of between the request and its delivery: the folder is empty.
    ValidateRendition.Handled handled = app().handle(message(request(DOC, PDF)), lines.logger);

    assertEquals(new ValidateRendition.Handled(0, 1), handled); // returns: the host completes the message
    assertTrue(outcomes.isEmpty());
    assertNull(store.report(TENANT, DOC));
    assertEquals(List.of(ValidateRendition.DROPPED + " (tenant acme, document " + DOC + "): rendition not found: the document was disposed of"), lines.at(Level.INFO));
    assertTrue(lines.at(Level.WARNING).isEmpty());
    assertTrue(lines.at(Level.SEVERE).isEmpty());
  }

  @Test
  void aRequestForAnotherRenditionThanTheStoredOneIsDroppedNotRetried() throws Exception {
    store.putRendition(TENANT, DOC, PDF);
    byte[] requested = "%PDF-1.7 another rendition".getBytes(StandardCharsets.US_ASCII);

    ValidateRendition.Handled handled = app().handle(message(request(DOC, requested)), lines.logger);

    assertEquals(new ValidateRendition.Handled(0, 1), handled);
    assertTrue(outcomes.isEmpty());
    assertNull(store.report(TENANT, DOC));
    List<String> warnings = lines.at(Level.WARNING);
    assertEquals(1, warnings.size());
    assertTrue(warnings.get(0).startsWith(ValidateRendition.DROPPED + " (tenant acme, document " + DOC + "): rendition is not the one requested"), warnings.get(0));
    assertTrue(warnings.get(0).contains(sha256(PDF)) && warnings.get(0).contains(sha256(requested)), warnings.get(0));
  }

  @Test
  void aDocumentDisposedOfWhileVeraPdfRunsGetsNoReportAndNoOutcome() throws Exception {
    store.putRendition(TENANT, DOC, PDF);
    ValidateRendition disposingMeanwhile = app((name, pdf) -> {
      store.dispose(TENANT, DOC);
      return REPORT;
    });

    ValidateRendition.Handled handled = disposingMeanwhile.handle(message(request(DOC, PDF)), lines.logger);

    assertEquals(new ValidateRendition.Handled(0, 1), handled);
    assertTrue(outcomes.isEmpty());
    assertTrue(store.blobs.isEmpty()); // no validation.json beside the tombstone
    assertEquals(List.of(ValidateRendition.DROPPED + " (tenant acme, document " + DOC + "): rendition deleted while veraPDF ran: the document was disposed of"), lines.at(Level.INFO));
  }

  @Test
  void aDisposedDocumentDoesNotHoldUpTheOthersOfItsMessage() throws Exception {
    store.putRendition(TENANT, OTHER, PDF);

    ValidateRendition.Handled handled = app().handle(message(request(DOC, PDF), request(OTHER, PDF)), lines.logger);

    assertEquals(new ValidateRendition.Handled(1, 1), handled);
    assertEquals(1, outcomes.size());
    JsonNode outcome = JSON.readTree(outcomes.get(0));
    assertEquals(OTHER, outcome.path("documentId").asText());
    assertEquals(TENANT, outcome.path("tenantId").asText());
    assertEquals(sha256(PDF), outcome.path("renditionSha256").asText());
    assertEquals(OTHER + "/validation.json", outcome.path("reportBlobName").asText());
    assertEquals(sha256(REPORT), outcome.path("reportSha256").asText());
    assertEquals("2025-03-01T12:00:00Z", outcome.path("validatedAt").asText());
    assertEquals(new OutcomeSignature(KEY).sign(TENANT, OTHER, sha256(PDF), OTHER + "/validation.json", sha256(REPORT)), outcome.path("signature").asText());
    assertEquals(new String(REPORT, StandardCharsets.UTF_8), new String(store.report(TENANT, OTHER), StandardCharsets.UTF_8));
  }

  @Test
  void aStorageFailureFailsTheMessageSoItIsDeliveredAgain() throws Exception {
    store.putRendition(TENANT, DOC, PDF);
    RuntimeException unavailable = new RuntimeException("Status code 503, ServerBusy");
    store.failure = unavailable;

    assertSame(unavailable, assertThrows(RuntimeException.class, () -> app().handle(message(request(DOC, PDF)), lines.logger)));
    assertTrue(outcomes.isEmpty());

    // The next delivery, storage back: validated.
    store.failure = null;
    assertEquals(new ValidateRendition.Handled(1, 0), app().handle(message(request(DOC, PDF)), lines.logger));
  }

  @Test
  void aVeraPdfFailureFailsTheMessageAfterTheOtherRequestsAreDone() throws Exception {
    store.putRendition(TENANT, DOC, PDF);
    byte[] choking = "%PDF-1.7 too much for veraPDF".getBytes(StandardCharsets.US_ASCII);
    store.putRendition(TENANT, OTHER, choking);
    ValidateRendition crashing = app((name, pdf) -> {
      if (name.startsWith(OTHER)) throw new OutOfMemoryErrorLike();
      return REPORT;
    });

    assertThrows(OutOfMemoryErrorLike.class, () -> crashing.handle(message(request(OTHER, choking), request(DOC, PDF)), lines.logger));
    assertEquals(1, outcomes.size());
    assertEquals(DOC, JSON.readTree(outcomes.get(0)).path("documentId").asText());
    assertFalse(lines.at(Level.WARNING).isEmpty());
  }

  @Test
  void aReDeliveryPostsTheReportAnEarlierDeliveryStored() throws Exception {
    store.putRendition(TENANT, DOC, PDF);
    // An earlier run's report: other bytes (veraPDF's report carries its run's times), the same verdict.
    byte[] earlier = "{\"report\":{\"jobs\":[{\"validationResult\":[{\"compliant\":true,\"details\":{\"ruleSummaries\":[]}}]}],\"run\":1}}".getBytes(StandardCharsets.UTF_8);
    store.blobs.put(TENANT + "/" + DOC + "/validation.json", earlier);

    assertEquals(new ValidateRendition.Handled(1, 0), app().handle(message(request(DOC, PDF)), lines.logger));
    assertEquals(sha256(earlier), JSON.readTree(outcomes.get(0)).path("reportSha256").asText());
  }

  @Test
  void aStoredReportStatingAnotherVerdictThanVeraPdfFoundIsNotSigned() throws Exception {
    // Planted by a storage role while the validation was pending: "compliant", where veraPDF fails the rendition. Signed
    // as found, it was recorded PDF/A. Now the message fails (delivered again, then poisoned) and nothing is posted.
    store.putRendition(TENANT, DOC, PDF);
    store.blobs.put(TENANT + "/" + DOC + "/validation.json", REPORT);
    byte[] failing = "{\"report\":{\"jobs\":[{\"validationResult\":[{\"compliant\":false,\"details\":{\"ruleSummaries\":[{\"status\":\"failed\",\"clause\":\"6.2.4.3\",\"testNumber\":2}]}}]}]}}".getBytes(StandardCharsets.UTF_8);

    assertThrows(IllegalStateException.class, () -> app((name, pdf) -> failing).handle(message(request(DOC, PDF)), lines.logger));
    assertTrue(outcomes.isEmpty());
    assertTrue(lines.at(Level.SEVERE).stream().anyMatch((l) -> l.startsWith(ValidateRendition.REPORT_DIFFERS)));
  }

  @Test
  void aStoredReportNamingAnotherVeraPdfReleaseIsNotSigned() throws Exception {
    // Red team 23: the verdict veraPDF finds, planted with a release of its own, which the Node app records as the
    // validator's version. Not signed: the message fails and nothing is posted.
    String withRelease = "{\"report\":{\"buildInformation\":{\"releaseDetails\":[{\"id\":\"core\",\"version\":\"%s\"}]},\"jobs\":[{\"validationResult\":[{\"compliant\":true,\"details\":{\"ruleSummaries\":[]}}]}]}}";
    store.putRendition(TENANT, DOC, PDF);
    store.blobs.put(TENANT + "/" + DOC + "/validation.json", String.format(withRelease, "9.9.9").getBytes(StandardCharsets.UTF_8));
    byte[] produced = String.format(withRelease, "1.28.2").getBytes(StandardCharsets.UTF_8);

    assertThrows(IllegalStateException.class, () -> app((name, pdf) -> produced).handle(message(request(DOC, PDF)), lines.logger));
    assertTrue(outcomes.isEmpty());
  }

  @Test
  void theSignatureIsTheOneTheNodeAppComputesForTheSameKeyAndFields() throws Exception {
    // The same vector as test/unit/validation/outcome-signature.test.ts: the Node app records only outcomes that check.
    String signature = new OutcomeSignature(KEY).sign("acme", DOC, "ab".repeat(32), DOC + "/validation.json", "cd".repeat(32));
    assertEquals("3c7ee42d0ab4025665f7cee6d6edae22a8f8fae3e8aec50f4136fd6b3af2c41f", signature);
  }

  @Test
  void withoutAUsableOutcomeKeyNothingIsValidatedOrPosted() {
    // The Key Vault reference not resolved (its text is what the setting holds) or the setting missing: the message
    // fails before veraPDF runs and is delivered again; nothing unsigned is posted.
    store.putRendition(TENANT, DOC, PDF);
    for (String setting : new String[] {null, "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/validator-outcome-key/)", "ab".repeat(16)}) {
      ValidateRendition unkeyed = new ValidateRendition(store, outcomes::add, (name, pdf) -> {
        throw new AssertionError("veraPDF ran without a key to sign its outcome");
      }, CLOCK, () -> new OutcomeSignature(setting));
      assertThrows(IllegalStateException.class, () -> unkeyed.handle(message(request(DOC, PDF)), lines.logger));
    }
    assertTrue(outcomes.isEmpty());
    assertNull(store.report(TENANT, DOC));
  }

  @Test
  void aMalformedRequestStillFailsTheMessage() {
    // A bug, not a disposal: delivered again, then poisoned, which alerts.
    assertThrows(IllegalArgumentException.class, () -> app().handle("{\"tenantId\":\"acme\",\"documentId\":\"../x\",\"renditionSha256\":\"00\"}", lines.logger));
  }

  /** What a veraPDF run that dies looks like to the handler: an exception it does not catch as a drop. */
  static final class OutOfMemoryErrorLike extends Exception {
    OutOfMemoryErrorLike() {
      super("veraPDF ran out of memory");
    }
  }

  private static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }
}
