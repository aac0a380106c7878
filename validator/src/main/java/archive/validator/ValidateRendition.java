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
import com.fasterxml.jackson.databind.node.ArrayNode;
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
import org.verapdf.gf.foundry.VeraGreenfieldFoundryProvider;
import org.verapdf.pdfa.Foundries;
import org.verapdf.pdfa.PDFAParser;
import org.verapdf.pdfa.PDFAValidator;
import org.verapdf.pdfa.flavours.PDFAFlavour;
import org.verapdf.pdfa.results.TestAssertion;
import org.verapdf.pdfa.results.ValidationResult;

/**
 * Validates one stored rendition with veraPDF (PDF/A-2B) per queue message. The identity may read
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
    JsonNode request = JSON.readTree(message);
    String tenantId = request.path("tenantId").asText();
    String documentId = request.path("documentId").asText();
    String expected = request.path("renditionSha256").asText();
    if (!TENANT.matcher(tenantId).matches() || !ID.matcher(documentId).matches() || !SHA256.matcher(expected).matches()) {
      throw new IllegalArgumentException("malformed validation request"); // retried, then poisoned
    }
    var container = blobs().getBlobContainerClient("tenant-" + tenantId);
    byte[] pdf = container.getBlobClient(documentId + "/rendition.pdf").downloadContent().toBytes();
    if (!expected.equals(sha256(pdf))) throw new IllegalStateException("rendition does not match the catalog checksum: " + documentId);

    PDFAFlavour flavour = PDFAFlavour.PDFA_2_B;
    ValidationResult result;
    try (PDFAParser parser = Foundries.defaultInstance().createParser(new ByteArrayInputStream(pdf), flavour)) {
      PDFAValidator validator = Foundries.defaultInstance().createValidator(flavour, false);
      result = validator.validate(parser);
    }
    TreeSet<String> failed = new TreeSet<>();
    for (TestAssertion a : result.getTestAssertions()) {
      if (a.getStatus() == TestAssertion.Status.FAILED) failed.add(a.getRuleId().getClause() + "-" + a.getRuleId().getTestNumber());
    }
    String version = Foundries.defaultInstance().getDetails().getVersion();
    ObjectNode report = JSON.createObjectNode();
    report.putObject("validator").put("name", "veraPDF").put("version", version);
    report.put("profile", "PDF/A-2B").put("item", documentId + "/rendition.pdf").put("compliant", result.isCompliant());
    ArrayNode rules = report.putArray("failedRules");
    failed.forEach(rules::add);
    byte[] bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(report);

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
    ObjectNode outcome = JSON.createObjectNode();
    outcome.put("tenantId", tenantId).put("documentId", documentId).put("renditionSha256", expected);
    outcome.put("reportBlobName", blobName).put("reportSha256", sha256(bytes)).put("validatedAt", Instant.now().toString());
    outcomes().sendMessage(JSON.writeValueAsString(outcome));
    if (!result.isCompliant()) context.getLogger().severe("rendition validation failed " + tenantId + "/" + documentId + " " + failed);
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
