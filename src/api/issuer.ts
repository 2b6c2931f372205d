/** CredentialIssuer and ClusterCredentialIssuer: where a client's secrets are minted. */
import { z } from "zod";
import { cel, conditions, duration, guid, labelSelector, objectName, secretKey } from "./fields.ts";

const exactlyOne = (fields: string[], what: string) =>
  cel({
    rule: `${fields.map((f) => `(has(self.${f}) ? 1 : 0)`).join(" + ")} == 1`,
    message: `exactly one of ${fields.map((f) => `${what}.${f}`).join(" or ")} must be set`,
  });

const adminClientCredentials = z
  .object({
    secretRef: z
      .object({
        name: objectName("secretRef.name").meta({
          description:
            "The Secret with the administrator client's id and secret: in the issuer's namespace for a CredentialIssuer, in Rotor's namespace for a ClusterCredentialIssuer.",
        }),
        clientIdKey: secretKey("secretRef.clientIdKey")
          .default("client_id")
          .meta({ description: "Default client_id." }),
        clientSecretKey: secretKey("secretRef.clientSecretKey")
          .default("client_secret")
          .meta({ description: "Default client_secret." }),
      })
      .meta({ description: "Where the administrator client's credentials are." }),
  })
  .meta({ description: "Authenticate as a tenant-administrator client whose credentials are in a Secret." });

const ocsAuth = z
  .object({
    clientCredentials: adminClientCredentials.optional(),
    self: z.object({}).optional().meta({
      description:
        "No administrator secret in the cluster: each client rotates itself with its current secret; the first comes from the ClientCredential's bootstrapSecretRef.",
    }),
  })
  .meta({
    description: "How Rotor authenticates to the tenant.",
    ...exactlyOne(["clientCredentials", "self"], "auth"),
  });

const ocs = z
  .object({
    url: z
      .string()
      .max(2048)
      .refine((value) => /^https?:\/\/[^\s/]+(\/.*)?$/.test(value), "url must be an http(s) URL")
      .meta({
        description:
          "Base URL of the identity service: AVEVA's global host, https://uswe.datahub.connect.aveva.com (writes — new clients and secrets — are accepted only there; regional hosts serve reads).",
        ...cel({
          rule: "self.matches('^https?://[^\\\\s/]+(/.*)?$')",
          message: "url must be an http(s) URL",
        }),
      }),
    tenantId: guid("tenantId").meta({ description: "The tenant's id (a GUID)." }),
    auth: ocsAuth,
    accessTokenLifetime: duration("accessTokenLifetime", { min: "1m", max: "1h" }).optional().meta({
      description:
        "Access token lifetime given to clients Rotor creates (60s to 3600s). Default: the tenant's.",
    }),
  })
  .meta({ description: "An OSIsoft Cloud Services / AVEVA Data Hub tenant." });

const embedded = z
  .object({
    accessTokenLifetime: duration("accessTokenLifetime", { min: "1m", max: "24h" }).default("1h").meta({
      description: "Lifetime of the JWT access tokens the embedded token endpoint issues. Default 1h.",
    }),
  })
  .meta({
    description:
      "Rotor's built-in issuer (the one ClientCredentials use without issuerRef), named explicitly, e.g. to restrict it with a namespaceSelector.",
  });

const issuerKinds = {
  ocs: ocs.optional(),
  embedded: embedded.optional(),
};
const ISSUER_KIND_FIELDS = Object.keys(issuerKinds);

export const credentialIssuerSpec = z.object(issuerKinds).meta({
  description: "Where secrets are minted. Set exactly one issuer kind.",
  ...exactlyOne(ISSUER_KIND_FIELDS, "spec"),
});

export const clusterCredentialIssuerSpec = z
  .object({
    ...issuerKinds,
    namespaceSelector: labelSelector
      .optional()
      .meta({ description: "Which namespaces may use this issuer. Absent or empty: every namespace." }),
  })
  .meta({
    description: "Where secrets are minted. Set exactly one issuer kind.",
    ...exactlyOne(ISSUER_KIND_FIELDS, "spec"),
  });

export const issuerStatus = z
  .object({
    observedGeneration: z.int().optional().meta({ description: "The metadata.generation last acted upon." }),
    tokenEndpoint: z.string().optional().meta({ description: "The issuer's OAuth2 token endpoint." }),
    lastCheckTime: z
      .string()
      .optional()
      .meta({ description: "When Rotor last authenticated against the issuer.", format: "date-time" }),
    conditions,
  })
  .meta({ description: "Whether Rotor can use the issuer." });

export type CredentialIssuerSpec = z.output<typeof credentialIssuerSpec>;
export type ClusterCredentialIssuerSpec = z.output<typeof clusterCredentialIssuerSpec>;
export type IssuerStatus = z.output<typeof issuerStatus>;
