package archive.validator;

import com.azure.identity.DefaultAzureCredentialBuilder;
import com.azure.storage.blob.BlobClient;
import com.azure.storage.blob.BlobServiceClient;
import com.azure.storage.blob.BlobServiceClientBuilder;
import com.azure.storage.blob.models.BlobHttpHeaders;
import com.azure.storage.blob.models.BlobRequestConditions;
import com.azure.storage.blob.models.BlobStorageException;
import com.azure.storage.blob.options.BlobParallelUploadOptions;
import com.azure.storage.queue.QueueClient;
import com.azure.storage.queue.QueueClientBuilder;
import com.azure.storage.queue.QueueMessageEncoding;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.microsoft.azure.functions.ExecutionContext;
import com.microsoft.azure.functions.annotation.FunctionName;
import com.microsoft.azure.functions.annotation.QueueTrigger;
import java.io.ByteArrayInputStream;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.io.ByteArrayOutputStream;
import java.util.EnumSet;
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
 * renditions and create validation.json, nothing else: the outcome goes to a queue and the Node
 * app records it (catalog item, hash-chained audit entry) after checking the report's SHA-256, so
 * the catalog and audit logic stay in one place. The Functions host retries a failing message
 * and moves it to rendition-validation-poison after five deliveries (host.json maxDequeueCount).
 */
public final class ValidateRendition {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern ID = Pattern.compile("^[0-9a-f]{8}-[0-9a-f]{4}-[78][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  private static final Pattern TENANT = Pattern.compile("^[a-z0-9][a-z0-9-]{1,54}$");
  private static final Pattern SHA256 = Pattern.compile("^[0-9a-f]{64}$");
  private static volatile BlobServiceClient blobs;
  private static volatile QueueClient outcomes;

  static {
    VeraGreenfieldFoundryProvider.initialise();
  }

  @FunctionName("validateRendition")
  public void run(@QueueTrigger(name = "message", queueName = "%ARCHIVE_VALIDATION_QUEUE%", connection = "ArchiveStorage") String message, ExecutionContext context) throws Exception {
    // One message carries the requests of several uploads ({"requests":[…]}); a bare request is read too.
    JsonNode parsed = JSON.readTree(message);
    JsonNode requests = parsed.has("requests") ? parsed.path("requests") : JSON.createArrayNode().add(parsed);
    if (!requests.isArray() || requests.isEmpty()) throw new IllegalArgumentException("malformed validation request"); // retried, then poisoned
    // Every request is tried; a failure of one fails the message after the others are done, so the
    // host delivers it again, and the requests already done find their report stored (create-only).
    Exception failed = null;
    for (JsonNode request : requests) {
      try {
        validate(request, context);
      } catch (Exception e) {
        context.getLogger().warning("validation request failed: " + e.getMessage());
        if (failed == null) failed = e;
      }
    }
    if (failed != null) throw failed;
  }

  private void validate(JsonNode request, ExecutionContext context) throws Exception {
    String tenantId = request.path("tenantId").asText();
    String documentId = request.path("documentId").asText();
    String expected = request.path("renditionSha256").asText();
    if (!TENANT.matcher(tenantId).matches() || !ID.matcher(documentId).matches() || !SHA256.matcher(expected).matches()) {
      throw new IllegalArgumentException("malformed validation request"); // retried, then poisoned
    }
    var container = blobs().getBlobContainerClient("tenant-" + tenantId);
    byte[] pdf = container.getBlobClient(documentId + "/rendition.pdf").downloadContent().toBytes();
    if (!expected.equals(sha256(pdf))) throw new IllegalStateException("rendition does not match the catalog checksum: " + documentId);

    byte[] bytes = report(documentId + "/rendition.pdf", pdf);

    String blobName = documentId + "/validation.json";
    BlobClient target = container.getBlobClient(blobName);
    try {
      // Create-only: If-None-Match *; the container's version-level WORM policy covers the new version.
      target.uploadWithResponse(new BlobParallelUploadOptions(new ByteArrayInputStream(bytes), bytes.length)
          .setHeaders(new BlobHttpHeaders().setContentType("application/json"))
          .setRequestConditions(new BlobRequestConditions().setIfNoneMatch("*")), null, null);
    } catch (BlobStorageException e) {
      if (e.getStatusCode() != 409 && e.getStatusCode() != 412) throw e;
      bytes = target.downloadContent().toBytes(); // a re-delivery: the stored report is the evidence
    }
    Outcome verdict = outcome(bytes);
    ObjectNode outcome = JSON.createObjectNode();
    outcome.put("tenantId", tenantId).put("documentId", documentId).put("renditionSha256", expected);
    outcome.put("reportBlobName", blobName).put("reportSha256", sha256(bytes)).put("validatedAt", Instant.now().toString());
    outcomes().sendMessage(JSON.writeValueAsString(outcome));
    // The alert phrase is logged by the Node recorder, which knows whether the rendition claims PDF/A-2b.
    context.getLogger().info("veraPDF " + (verdict.compliant() ? "passed " : "failed ") + tenantId + "/" + documentId + " " + verdict.failedRules());
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

  record Outcome(boolean compliant, TreeSet<String> failedRules) {}

  /** Passed only when every validation result of the one job is compliant; failed rule ids as `clause-testNumber`. */
  static Outcome outcome(byte[] report) throws Exception {
    JsonNode job = JSON.readTree(report).path("report").path("jobs").path(0);
    boolean compliant = job.path("validationResult").size() > 0;
    TreeSet<String> failed = new TreeSet<>();
    for (JsonNode result : job.path("validationResult")) {
      compliant &= result.path("compliant").asBoolean(false);
      for (JsonNode rule : result.path("details").path("ruleSummaries")) {
        if ("failed".equals(rule.path("status").asText())) failed.add(rule.path("clause").asText() + "-" + rule.path("testNumber").asText());
      }
    }
    return new Outcome(compliant, failed);
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

  private static BlobServiceClient blobs() {
    if (blobs == null) blobs = new BlobServiceClientBuilder().endpoint(System.getenv("ArchiveStorage__blobServiceUri")).credential(new DefaultAzureCredentialBuilder().build()).buildClient();
    return blobs;
  }

  private static QueueClient outcomes() {
    if (outcomes == null) {
      outcomes = new QueueClientBuilder().endpoint(System.getenv("ArchiveStorage__queueServiceUri")).queueName(System.getenv("ARCHIVE_VALIDATION_QUEUE") + "-outcome")
          .credential(new DefaultAzureCredentialBuilder().build()).messageEncoding(QueueMessageEncoding.BASE64).buildClient();
    }
    return outcomes;
  }
}
