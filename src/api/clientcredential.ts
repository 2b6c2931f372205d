/** The ClientCredential kind: one OAuth2 client and its rotating secrets. */
import { z } from "zod";
import {
  cel,
  celDurationOrAbsent,
  conditions,
  duration,
  guid,
  objectMetaTemplate,
  objectName,
  secretKey,
} from "./fields.ts";
import { grantedRole } from "./issuer.ts";

export const ISSUER_KINDS = ["CredentialIssuer", "ClusterCredentialIssuer"] as const;
export const ROLLOUT_STRATEGIES = ["Restart", "Observe", "None"] as const;
export const DELETION_POLICIES = ["Revoke", "Retain"] as const;
export const SECRET_STATES = ["Current", "Superseded"] as const;

export const DEFAULT_VALIDITY = "2160h";
export const MAX_SECRETS_LIMIT = 10;

const issuerRef = z
  .object({
    kind: z
      .enum(ISSUER_KINDS)
      .meta({ description: "CredentialIssuer (same namespace) or ClusterCredentialIssuer." }),
    name: objectName("issuerRef.name").meta({ description: "Name of the issuer." }),
  })
  .meta({
    description:
      "The issuer that mints this client's secrets. Absent means the embedded issuer built into Rotor. Immutable: a client lives at one issuer.",
  });

const bootstrapSecretRef = z
  .object({
    name: objectName("bootstrapSecretRef.name").meta({
      description: "A Secret in this namespace holding the client's first secret, issued by a person.",
    }),
    key: secretKey("bootstrapSecretRef.key")
      .default("client_secret")
      .meta({ description: "The data key that holds the secret value. Default client_secret." }),
    secretId: z.string().min(1).max(64).optional().meta({
      description:
        "The issuer's id of the bootstrap secret. When set, Rotor revokes it after rollover like any superseded secret; otherwise it is left for a person to delete.",
    }),
  })
  .meta({
    description:
      "Only for an OCS issuer with auth.self: where the client's first secret is. Rotor rotates away from it at once.",
  });

const keys = z
  .object({
    clientId: secretKey("keys.clientId")
      .default("client_id")
      .meta({ description: "Key of the client id. Default client_id." }),
    clientSecret: secretKey("keys.clientSecret")
      .default("client_secret")
      .meta({ description: "Key of the client secret. Default client_secret." }),
    tokenUrl: secretKey("keys.tokenUrl").default("token_url").meta({
      description:
        "Key of the issuer's token endpoint URL, written when the issuer has one. Default token_url.",
    }),
    caCert: secretKey("keys.caCert").default("ca.crt").meta({
      description:
        "Key of the CA bundle (PEM) that the token endpoint's certificate chains to, written in the target Secret when the issuer serves one (the embedded issuer over TLS). Default ca.crt.",
    }),
  })
  // A complete default (not `{}`), so that the API server can check it against the rules below.
  .default({ clientId: "client_id", clientSecret: "client_secret", tokenUrl: "token_url", caCert: "ca.crt" })
  .meta({
    description: "Names of the data keys in the target and version Secrets.",
    ...cel(
      {
        rule: "self.clientId != self.clientSecret && self.clientId != self.tokenUrl && self.clientSecret != self.tokenUrl",
        message: "keys.clientId, keys.clientSecret and keys.tokenUrl must be different",
      },
      {
        rule: "!has(self.caCert) || (self.caCert != self.clientId && self.caCert != self.clientSecret && self.caCert != self.tokenUrl)",
        message: "keys.caCert must differ from keys.clientId, keys.clientSecret and keys.tokenUrl",
      },
    ),
  });

const rollout = z
  .object({
    strategy: z.enum(ROLLOUT_STRATEGIES).default("Restart").meta({
      description:
        "How consumers move to a new secret. Restart (default): restart the workloads whose pods reference the target Secret and wait until every old pod is gone before revoking the superseded secret. Observe: restart nothing, but still wait for the old pods to go. None: do not wait for consumers; revoke after gracePeriod.",
    }),
    timeout: duration("rollout.timeout", { min: "1m", max: "8760h" }).default("1h").meta({
      description:
        "How long to wait for the consumers to roll over before reporting RolloutTimeout. The superseded secret then stays until it expires. Default 1h.",
    }),
  })
  .default({ strategy: "Restart", timeout: "1h" })
  .meta({ description: "How workloads that use the target Secret are moved to a new secret." });

export const clientCredentialSpec = z
  .object({
    issuerRef: issuerRef.optional(),
    clientId: guid("clientId").optional().meta({
      description:
        "The client's id at the issuer (a GUID). Absent: Rotor creates the client with a random v4 GUID and reports it in status.clientId. Immutable once set. A client belongs to one ClientCredential in the whole cluster.",
    }),
    clientName: z.string().min(1).max(100).optional().meta({
      description:
        "Display name of the client, used only when Rotor creates it. Default: <namespace>/<name>.",
    }),
    roleIds: z.array(guid("roleIds[*]")).max(50).optional().meta({
      description:
        "OCS: the ids of the roles a client Rotor creates gets, besides the tenant's Member role (always given). Absent: the issuer's spec.ocs.clientRoles.default, or else the Member role alone. Each must be a role of the tenant that the issuer allows (spec.ocs.clientRoles). Read when the client is created; status.clientRoles shows what it got.",
    }),
    bootstrapSecretRef: bootstrapSecretRef.optional(),
    description: z
      .string()
      .min(1, "description must not be empty")
      .max(200, "description must be at most 200 characters")
      .meta({
        description:
          "Required, 1 to 200 characters: what the secret is for and where it is used. Each minted secret carries it (plus Rotor's ownership marker) at the issuer, so whoever looks at the client knows what breaks if the secret goes.",
      }),
    secretName: objectName("secretName", 200).optional().meta({
      description:
        "The target Secret in this namespace that holds the current secret. Default: metadata.name. Rotor never overwrites a Secret it does not own.",
    }),
    secretTemplate: objectMetaTemplate
      .optional()
      .meta({ description: "Labels and annotations added to the target Secret." }),
    keys,
    validity: duration("validity", { min: "1m", max: "17520h", explain: "2 years" })
      .default(DEFAULT_VALIDITY)
      .meta({
        description:
          "Lifetime of each minted secret, as a Go duration (e.g. 2160h, 90m). Every secret expires; a new one is minted renewBefore ahead. Default 2160h (90 days); at least 1m, at most 17520h (2 years).",
      }),
    renewBefore: duration("renewBefore", { min: "30s" }).optional().meta({
      description:
        "How long before a secret expires its successor is minted, as a Go duration. Must be less than validity. Default: validity/3.",
    }),
    maxSecrets: z.int().min(2).max(MAX_SECRETS_LIMIT).default(MAX_SECRETS_LIMIT).meta({
      description:
        "The most secrets this client may hold at the issuer, counting every secret it has there, also ones Rotor did not create. 2 to 10, default 10.",
    }),
    rollout,
    gracePeriod: duration("gracePeriod", { max: "720h" }).default("5m").meta({
      description:
        "How long to wait after every consumer rolled over before the superseded secret is revoked. Default 5m.",
    }),
    deletionPolicy: z.enum(DELETION_POLICIES).default("Revoke").meta({
      description:
        "What happens at the issuer when this ClientCredential is deleted. Revoke (default): revoke every secret Rotor minted, and delete the client if Rotor created it. Retain: leave the issuer untouched.",
    }),
  })
  .meta({
    description: "The desired client and how its secrets are rotated.",
    ...cel(
      {
        rule: `!has(self.renewBefore) || !(${celDurationOrAbsent("renewBefore")}) || !(${celDurationOrAbsent("validity")}) || duration(self.renewBefore) < duration(self.validity)`,
        message: "renewBefore must be less than validity",
        fieldPath: ".renewBefore",
      },
      {
        rule: "has(self.issuerRef) == has(oldSelf.issuerRef) && (!has(self.issuerRef) || self.issuerRef == oldSelf.issuerRef)",
        message: "issuerRef is immutable: create a new ClientCredential to move to another issuer",
        fieldPath: ".issuerRef",
      },
      {
        rule: "!has(oldSelf.clientId) || (has(self.clientId) && self.clientId == oldSelf.clientId)",
        message: "clientId is immutable once set",
        fieldPath: ".clientId",
      },
    ),
  });

const secretStatus = z.object({
  id: z.string().meta({ description: "The issuer's id of the secret." }),
  state: z
    .enum(SECRET_STATES)
    .meta({ description: "Current (in the target Secret) or Superseded (awaiting revocation)." }),
  createdAt: z.string().optional().meta({ description: "When Rotor minted it.", format: "date-time" }),
  notAfter: z
    .string()
    .optional()
    .meta({ description: "When it expires at the issuer.", format: "date-time" }),
  supersededAt: z
    .string()
    .optional()
    .meta({ description: "When the target Secret switched away from it.", format: "date-time" }),
  versionSecretName: z.string().optional().meta({ description: "The immutable Secret holding its value." }),
});

export const clientCredentialStatus = z
  .object({
    observedGeneration: z.int().optional().meta({ description: "The metadata.generation last acted upon." }),
    clientId: z.string().optional().meta({ description: "The client's id at the issuer." }),
    clientRoles: z
      .array(grantedRole)
      .optional()
      .meta({ description: "OCS: the roles Rotor gave the client when it created it." }),
    currentSecretId: z
      .string()
      .optional()
      .meta({ description: "The issuer's id of the secret in the target Secret." }),
    notAfter: z
      .string()
      .optional()
      .meta({ description: "When the current secret expires.", format: "date-time" }),
    renewalTime: z
      .string()
      .optional()
      .meta({ description: "When Rotor will mint the next secret.", format: "date-time" }),
    secrets: z
      .array(secretStatus)
      .optional()
      .meta({
        description: "Every live secret Rotor minted for this client.",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["id"],
      }),
    slots: z
      .object({
        used: z.int().meta({ description: "Secrets the issuer reports for the client, from any source." }),
        max: z.int().meta({ description: "spec.maxSecrets." }),
      })
      .optional()
      .meta({ description: "The client's secret budget at the issuer." }),
    consumers: z
      .object({
        total: z.int().meta({ description: "Workloads whose pods reference the target Secret." }),
        updated: z.int().meta({ description: "Those that run the current secret." }),
        summary: z.string().meta({ description: "updated/total, e.g. 2/3." }),
        pending: z
          .array(z.string())
          .max(20)
          .optional()
          .meta({ description: "Up to 20 workloads still running an older secret, as Kind/name." }),
      })
      .optional()
      .meta({ description: "The workloads that consume the target Secret and their rollover." }),
    lastRotateRequest: z.string().optional().meta({
      description: "The last rotor.dev/rotate annotation value acted upon.",
    }),
    failedAttempts: z.int().optional().meta({ description: "Consecutive failed issuance attempts." }),
    lastFailureTime: z
      .string()
      .optional()
      .meta({ description: "When the last issuance attempt failed.", format: "date-time" }),
    conditions,
  })
  .meta({ description: "What Rotor observed and did." });

export type ClientCredentialSpec = z.output<typeof clientCredentialSpec>;
export type ClientCredentialStatus = z.output<typeof clientCredentialStatus>;
export type SecretStatus = z.output<typeof secretStatus>;
