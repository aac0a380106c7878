package archive.validator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.microsoft.azure.functions.ExecutionContext;
import com.microsoft.azure.functions.annotation.FunctionName;
import com.microsoft.azure.functions.annotation.QueueTrigger;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Optional;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Pattern;
import org.verapdf.features.FeatureFactory;
import org.verapdf.gf.foundry.VeraGreenfieldFoundryProvider;
import org.verapdf.metadata.fixer.FixerFactory;
import org.verapdf.pdfa.flavours.PDFAFlavour;
import org.verapdf.pdfa.validation.validators.ValidatorFactory;
import org.verapdf.processor.BatchProcessingHandler;
import org.verapdf.processor.BatchProcessor;
import org.verapdf.processor.FormatOption;
import org.verapdf.processor.ProcessorConfig;
import org.verapdf.processor.ProcessorFactory;
import org.verapdf.processor.TaskType;
import org.verapdf.processor.plugins.PluginsCollectionConfig;
import org.verapdf.processor.reports.ItemDetails;

/**
 * Validates stored renditions with veraPDF (PDF/A-2B), the ones a queue message names. The identity may read
 * renditions and create validation.json, nothing else: the outcome goes to a queue, signed with the validator's own
 * key (OutcomeSignature), and the Node app records it (catalog item, hash-chained audit entry) after checking the
 * signature and the report's SHA-256, so the catalog and audit logic stay in one place.
 *
 * <p>A request whose rendition is gone (the document was disposed of since it was asked for) or is not the one
 * requested is dropped: logged, no report, no outcome, never retried, as the Node worker completes a request for a
 * document no longer active. Retrying could not change either answer, and five deliveries then the poison queue
 * alerted operators for nothing. A document still active that way stays `pending`: the Node app's requeue timer asks
 * again and, five requests later, logs `rendition validation abandoned` (alerted). Only a real failure (a storage
 * error, veraPDF failing, a malformed message) fails the message: the Functions host delivers it again and moves it to
 * rendition-validation-poison after five deliveries (host.json maxDequeueCount).
 */
public final class ValidateRendition {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern ID = Pattern.compile("^[0-9a-f]{8}-[0-9a-f]{4}-[78][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  private static final Pattern TENANT = Pattern.compile("^[a-z0-9][a-z0-9-]{1,54}$");
  private static final Pattern SHA256 = Pattern.compile("^[0-9a-f]{64}$");
  /** Starts the line logged for a dropped request (with tenant and document ids and why). */
  static final String DROPPED = "validation request dropped";
  /** Logged (severe) for a report found stored that states another verdict than veraPDF's now: not signed, the message fails. */
  static final String REPORT_DIFFERS = "validation report stored states another outcome than veraPDF found";

  static {
    VeraGreenfieldFoundryProvider.initialise();
  }

  /** Where outcomes go: `<queue>-outcome`, read by the Node app. */
  interface Outcomes {
    void post(String message);
  }

  /** veraPDF's JSON report of one rendition. */
  interface Validator {
    byte[] report(String name, byte[] pdf) throws Exception;
  }

  /** What one message came to: outcomes posted, requests dropped. */
  record Handled(int posted, int dropped) {}

  private final RenditionStore store;
  private final Outcomes outcomes;
  private final Validator validator;
  private final Clock clock;
  private final Supplier<OutcomeSignature> signature;

  /** The Functions host's (an instance per invocation): the archive's storage account, its clients and outcome key read once per worker, and veraPDF. */
  public ValidateRendition() {
    this(AzureStorage.shared(), AzureStorage.shared(), ValidateRendition::report, Clock.systemUTC(), OutcomeSignature::fromEnvironment);
  }

  ValidateRendition(RenditionStore store, Outcomes outcomes, Validator validator, Clock clock, Supplier<OutcomeSignature> signature) {
    this.store = store;
    this.outcomes = outcomes;
    this.validator = validator;
    this.clock = clock;
    this.signature = signature;
  }

  @FunctionName("validateRendition")
  public void run(@QueueTrigger(name = "message", queueName = "%ARCHIVE_VALIDATION_QUEUE%", connection = "ArchiveStorage") String message, ExecutionContext context) throws Exception {
    Handled handled = handle(message, context.getLogger());
    context.getLogger().info("validation message done: " + handled.posted() + " outcome(s) posted, " + handled.dropped() + " request(s) dropped");
  }

  /** One message. Dropped requests do not fail it; a failed one (storage, veraPDF, malformed) throws, so the host delivers it again. */
  Handled handle(String message, Logger log) throws Exception {
    // One message carries the requests of several uploads ({"requests":[…]}); a bare request is read too.
    // Without the key nothing could be posted that the Node app records: the message fails before veraPDF runs.
    OutcomeSignature signer = signature.get();
    JsonNode parsed = JSON.readTree(message);
    JsonNode requests = parsed.has("requests") ? parsed.path("requests") : JSON.createArrayNode().add(parsed);
    if (!requests.isArray() || requests.isEmpty()) throw new IllegalArgumentException("malformed validation request"); // retried, then poisoned
    // Every request is tried; a failure of one fails the message after the others are done, so the
    // host delivers it again, and the requests already done find their report stored (create-only).
    Exception failed = null;
    int posted = 0;
    int dropped = 0;
    for (JsonNode request : requests) {
      try {
        if (validate(request, signer, log)) posted++;
        else dropped++;
      } catch (Exception e) {
        log.warning("validation request failed; the message is delivered again: " + e);
        if (failed == null) failed = e;
      }
    }
    if (failed != null) throw failed;
    return new Handled(posted, dropped);
  }

  /** True when an outcome was posted, false when the request was dropped. */
  private boolean validate(JsonNode request, OutcomeSignature signer, Logger log) throws Exception {
    String tenantId = request.path("tenantId").asText();
    String documentId = request.path("documentId").asText();
    String expected = request.path("renditionSha256").asText();
    if (!TENANT.matcher(tenantId).matches() || !ID.matcher(documentId).matches() || !SHA256.matcher(expected).matches()) {
      throw new IllegalArgumentException("malformed validation request"); // retried, then poisoned
    }
    Optional<byte[]> read = store.rendition(tenantId, documentId);
    if (read.isEmpty()) return drop(log, Level.INFO, tenantId, documentId, "rendition not found: the document was disposed of");
    byte[] pdf = read.get();
    String actual = sha256(pdf);
    // A document's rendition is written once and its id never reused (a tombstone answers a replayed upload), so this
    // is not a disposal: a warning, not an alert; the fixity check alerts on a stored rendition that changed.
    if (!expected.equals(actual)) return drop(log, Level.WARNING, tenantId, documentId, "rendition is not the one requested: SHA-256 " + actual + ", requested " + expected);

    byte[] produced = validator.report(documentId + "/rendition.pdf", pdf);
    byte[] bytes = produced;

    // Disposed of while veraPDF ran: no report beside a tombstone (the reconciler would list it as orphaned blobs).
    if (!store.renditionExists(tenantId, documentId)) return drop(log, Level.INFO, tenantId, documentId, "rendition deleted while veraPDF ran: the document was disposed of");
    Optional<byte[]> stored = store.storeReport(tenantId, documentId, bytes);
    if (stored.isEmpty()) return drop(log, Level.INFO, tenantId, documentId, "stored report not found: the document was disposed of");
    bytes = stored.get();

    Outcome verdict = outcome(bytes);
    // Broke: a report found stored (create-only: an earlier delivery's) was signed as it stood. One a storage role planted
    // while the validation was pending ("compliant") was then announced under the validator's signature and recorded.
    // Signed only where it states what veraPDF found now, as the Node worker takes a found report (worker.ts record).
    // The release compared too: the Node app records it as the validator's version (red team 23: a planted report with
    // the verdict veraPDF finds and a version of its own put that version on the record).
    if (!Arrays.equals(bytes, produced) && !verdict.equals(outcome(produced))) {
      log.severe(REPORT_DIFFERS + " (tenant " + tenantId + ", document " + documentId + "): stored " + verdict + ", veraPDF " + outcome(produced));
      throw new IllegalStateException(REPORT_DIFFERS + ": document " + documentId);
    }
    ObjectNode outcome = JSON.createObjectNode();
    outcome.put("tenantId", tenantId).put("documentId", documentId).put("renditionSha256", expected);
    String reportBlobName = documentId + "/validation.json";
    String reportSha256 = sha256(bytes);
    outcome.put("reportBlobName", reportBlobName).put("reportSha256", reportSha256).put("validatedAt", clock.instant().toString());
    // The Node app records only an outcome the validator signed: a storage role can plant a report and announce it too.
    outcome.put("signature", signer.sign(tenantId, documentId, expected, reportBlobName, reportSha256));
    outcomes.post(JSON.writeValueAsString(outcome));
    // The alert phrase is logged by the Node recorder, which knows whether the rendition claims PDF/A-2b.
    log.info("veraPDF " + (verdict.compliant() ? "passed " : "failed ") + tenantId + "/" + documentId + " " + verdict.failedRules());
    return true;
  }

  private static boolean drop(Logger log, Level level, String tenantId, String documentId, String why) {
    log.log(level, DROPPED + " (tenant " + tenantId + ", document " + documentId + "): " + why);
    return false;
  }

  /**
   * veraPDF's own JSON report (the processor and handler the CLI's `--format json` uses), PDF/A-2B, for one
   * rendition named by its blob: the same format the local worker stores (shared/validation/verapdf.ts).
   */
  static byte[] report(String name, byte[] pdf) throws Exception {
    ProcessorConfig config = ProcessorFactory.fromValues(ValidatorFactory.createConfig(PDFAFlavour.PDFA_2_B, false, -1, false), FeatureFactory.defaultConfig(),
        PluginsCollectionConfig.defaultConfig(), FixerFactory.defaultConfig(), EnumSet.of(TaskType.VALIDATE));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (BatchProcessor processor = ProcessorFactory.fileBatchProcessor(config); BatchProcessingHandler handler = ProcessorFactory.getHandler(FormatOption.JSON, false, out, false)) {
      processor.process(ItemDetails.fromValues(name, pdf.length), new ByteArrayInputStream(pdf), handler);
    }
    return out.toByteArray();
  }

  /** `version`: veraPDF's core release the report names, which the Node app records as the validator's version. */
  record Outcome(boolean compliant, TreeSet<String> failedRules, String version) {}

  /** Passed only when every validation result of the one job is compliant; failed rule ids as `clause-testNumber`. */
  static Outcome outcome(byte[] report) throws Exception {
    JsonNode root = JSON.readTree(report).path("report");
    JsonNode job = root.path("jobs").path(0);
    String version = "";
    for (JsonNode release : root.path("buildInformation").path("releaseDetails")) {
      if ("core".equals(release.path("id").asText())) version = release.path("version").asText();
    }
    boolean compliant = job.path("validationResult").size() > 0;
    TreeSet<String> failed = new TreeSet<>();
    for (JsonNode result : job.path("validationResult")) {
      compliant &= result.path("compliant").asBoolean(false);
      for (JsonNode rule : result.path("details").path("ruleSummaries")) {
        if ("failed".equals(rule.path("status").asText())) failed.add(rule.path("clause").asText() + "-" + rule.path("testNumber").asText());
      }
    }
    return new Outcome(compliant, failed, version);
  }

  /** Smoke test without the Functions host: prints the report of a local file. */
  public static void main(String[] args) throws Exception {
    byte[] bytes = report(args[0], java.nio.file.Files.readAllBytes(java.nio.file.Path.of(args[0])));
    System.out.write(bytes);
    System.out.flush();
    System.err.println(outcome(bytes));
  }

  private static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }
}
