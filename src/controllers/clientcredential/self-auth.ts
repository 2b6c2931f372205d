/** OCS auth.self: the secrets a client may authenticate with, read from its own Secrets. */
import type { V1Secret } from "@kubernetes/client-node";
import type { ClientCredentialSpec } from "../../api/clientcredential.ts";
import { IssuerError } from "../../issuers/issuer.ts";
import type { Version } from "./model.ts";
import { secretValue, versionValue } from "./resources.ts";

/**
 * What a client authenticating as itself (OCS auth.self) may use, best first: the current
 * secret, the other versions newest first, then the bootstrap secret a person issued.
 */
export function selfAuthSecrets(
  spec: ClientCredentialSpec,
  versions: Version[],
  versionSecrets: Map<string, V1Secret>,
  bootstrapSecret: V1Secret | undefined,
): string[] {
  const newestFirst = [...versions].reverse();
  const ordered = [...newestFirst.filter((v) => v.activatedAt), ...newestFirst.filter((v) => !v.activatedAt)];
  const values = ordered.flatMap((v) => {
    const secret = versionSecrets.get(v.name);
    const value = secret ? versionValue(secret, spec.keys.clientSecret) : undefined;
    return value ? [value] : [];
  });
  const ref = spec.bootstrapSecretRef;
  if (ref) {
    const bootstrap = secretValue(bootstrapSecret, ref.key)?.trim();
    if (bootstrap) values.push(bootstrap);
    else if (values.length === 0)
      throw new IssuerError(
        "Rejected",
        `bootstrap Secret ${ref.name} is missing or has no data key ${ref.key}: client ${spec.clientId} has no secret to authenticate with`,
      );
  }
  if (values.length === 0)
    throw new IssuerError(
      "Rejected",
      `client ${spec.clientId} has no secret to authenticate with: set spec.bootstrapSecretRef to a Secret holding its first secret`,
    );
  return values;
}
