package archive.validator;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The validator's signature on the outcome it posts: HMAC-SHA256 under its own Key Vault secret (validator-outcome-key,
 * hex, at least 32 bytes) over `archive-validation-outcome` and the five fields, one a line. The Node app records an
 * outcome only under it (shared/kernel/outcome-signature.ts, the same form): the storage account's data-plane roles can
 * plant a report and send a message announcing it, but hold no Key Vault secret.
 *
 * <p>The key comes from the app setting ARCHIVE_VALIDATOR_OUTCOME_KEY, a Key Vault reference
 * (`@Microsoft.KeyVault(SecretUri=…)`, infra/main.bicep) that the platform resolves with the app's identity: no Key Vault
 * SDK in a process that parses untrusted PDFs, and the secret is read where the other settings are. Unresolved (the
 * reference text itself, the role not yet given) or missing, nothing is signed: the message fails and is delivered again.
 */
final class OutcomeSignature {
  static final String SETTING = "ARCHIVE_VALIDATOR_OUTCOME_KEY";
  private static final String PURPOSE = "archive-validation-outcome";
  private static final Pattern KEY = Pattern.compile("^(?:[0-9a-fA-F]{2}){32,}$");

  /** Read once per worker process (the host makes a function instance per invocation). */
  private static volatile OutcomeSignature fromEnvironment;

  private final byte[] key;

  OutcomeSignature(String hexKey) {
    String hex = hexKey == null ? "" : hexKey.trim();
    if (!KEY.matcher(hex).matches()) throw new IllegalStateException(SETTING + " must be the validator outcome key (at least 32 bytes, hex-encoded); is the Key Vault reference resolved?");
    this.key = HexFormat.of().parseHex(hex);
  }

  static OutcomeSignature fromEnvironment() {
    if (fromEnvironment == null) {
      synchronized (OutcomeSignature.class) {
        if (fromEnvironment == null) fromEnvironment = new OutcomeSignature(System.getenv(SETTING));
      }
    }
    return fromEnvironment;
  }

  /** The signature (hex) over one outcome's fields; a field with a line break has no unambiguous form and is refused. */
  String sign(String tenantId, String documentId, String renditionSha256, String reportBlobName, String reportSha256) throws Exception {
    String[] fields = {tenantId, documentId, renditionSha256, reportBlobName, reportSha256};
    for (String field : fields) {
      if (field.indexOf('\n') >= 0 || field.indexOf('\r') >= 0) throw new IllegalArgumentException("validation outcome fields must be single-line");
    }
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(key, "HmacSHA256"));
    return HexFormat.of().formatHex(mac.doFinal((PURPOSE + "\n" + String.join("\n", fields)).getBytes(StandardCharsets.UTF_8)));
  }
}
