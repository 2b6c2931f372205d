/** CredentialIssuer and ClusterCredentialIssuer: where a client's secrets are minted. */
import { z } from "zod";
import {
  cel,
  conditions,
  duration,
  guid,
  labelSelector,
  objectName,
  patternString,
  secretKey,
} from "./fields.ts";

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

/** A namespace's name: a DNS-1123 label. */
const namespaceName = patternString(
  "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
  "namedClients[].namespaces[*] must be a namespace name: lowercase letters, digits and '-'",
  63,
);

const namedClientRule = z
  .object({
    clientIds: z
      .array(guid("namedClients[].clientIds[*]"))
      .min(1)
      .max(100)
      .meta({ description: "Ids (GUIDs) of existing clients at the tenant." }),
    namespaces: z.array(namespaceName).min(1).max(100).optional().meta({
      description:
        "ClusterCredentialIssuer only: the namespaces whose ClientCredentials may name these clients.",
    }),
    namespaceSelector: labelSelector.optional().meta({
      description:
        "ClusterCredentialIssuer only: the namespaces, by label, whose ClientCredentials may name these clients. {} selects every namespace the issuer admits.",
    }),
  })
  .meta({ description: "Clients that ClientCredentials (of the namespaces given) may name." });

const namedClients = z.array(namedClientRule).max(50).optional().meta({
  description:
    "Which existing clients a ClientCredential may name in spec.clientId. With auth.clientCredentials, absent or empty (the default) means none: every ClientCredential gets a client Rotor creates for it, so no namespace can take over a client it was not given. With auth.self a ClientCredential must hold the client's own secret, so absent means any client; when set, it restricts auth.self issuers too. The administrator client the issuer authenticates as can never be named.",
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
    namedClients,
  })
  .meta({ description: "An OSIsoft Cloud Services / AVEVA Data Hub tenant." });

const embedded = z
  .object({
    accessTokenLifetime: duration("accessTokenLifetime", { min: "1m", max: "24h" }).default("1h").meta({
      description:
        "Lifetime of the JWT access tokens the embedded token endpoint issues. Rotor applies one lifetime to every client of its built-in issuer, its --token-lifetime flag (default 1h); when this field differs, the issuer's Ready message says so.",
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

type Rule = z.output<typeof namedClientRule>;
const rulesOf = (spec: { ocs?: { namedClients?: Rule[] } }) => spec.ocs?.namedClients ?? [];
const NAMED_CLIENTS = "has(self.ocs) && has(self.ocs.namedClients)";

/** A CredentialIssuer serves its own namespace only: its rules name no namespaces. */
const NO_NAMESPACES_MESSAGE =
  "a CredentialIssuer serves only its own namespace: namedClients[].namespaces and namespaceSelector are for ClusterCredentialIssuers";
const noNamespaces = (rule: Rule) => rule.namespaces === undefined && rule.namespaceSelector === undefined;

/** A ClusterCredentialIssuer's rule says which namespaces it is for, one way. */
const ONE_WAY_MESSAGE =
  "each namedClients[] of a ClusterCredentialIssuer needs exactly one of namespaces or namespaceSelector ({} for every namespace the issuer admits)";
const oneWay = (rule: Rule) => (rule.namespaces === undefined) !== (rule.namespaceSelector === undefined);

export const credentialIssuerSpec = z
  .object(issuerKinds)
  .refine((spec) => rulesOf(spec).every(noNamespaces), NO_NAMESPACES_MESSAGE)
  .meta({
    description: "Where secrets are minted. Set exactly one issuer kind.",
    "x-kubernetes-validations": [
      ...exactlyOne(ISSUER_KIND_FIELDS, "spec")["x-kubernetes-validations"],
      {
        rule: `!(${NAMED_CLIENTS}) || self.ocs.namedClients.all(r, !has(r.namespaces) && !has(r.namespaceSelector))`,
        message: NO_NAMESPACES_MESSAGE,
        fieldPath: ".ocs.namedClients",
      },
    ],
  });

export const clusterCredentialIssuerSpec = z
  .object({
    ...issuerKinds,
    namespaceSelector: labelSelector
      .optional()
      .meta({ description: "Which namespaces may use this issuer. Absent or empty: every namespace." }),
  })
  .refine((spec) => rulesOf(spec).every(oneWay), ONE_WAY_MESSAGE)
  .meta({
    description: "Where secrets are minted. Set exactly one issuer kind.",
    "x-kubernetes-validations": [
      ...exactlyOne(ISSUER_KIND_FIELDS, "spec")["x-kubernetes-validations"],
      {
        rule: `!(${NAMED_CLIENTS}) || self.ocs.namedClients.all(r, has(r.namespaces) != has(r.namespaceSelector))`,
        message: ONE_WAY_MESSAGE,
        fieldPath: ".ocs.namedClients",
      },
    ],
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
