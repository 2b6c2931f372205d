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
import { registrationIssuer } from "./registration-issuer.ts";

const exactlyOne = (fields: string[], what: string) =>
  cel({
    rule: `${fields.map((f) => `(has(self.${f}) ? 1 : 0)`).join(" + ")} == 1`,
    message: `exactly one of ${fields
      .map((f) => `${what}.${f}`)
      .join(", ")
      .replace(/, ([^,]*)$/, " or $1")} must be set`,
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

/** A role of the tenant, by its id or by its name as the portal shows it. */
const roleRef = z
  .object({
    id: guid("clientRoles role id").optional().meta({ description: "The role's id (a GUID)." }),
    name: z.string().min(1).max(200).optional().meta({
      description: "The role's name, as the portal lists it; it must name exactly one role of the tenant.",
    }),
  })
  .refine(
    (ref) => (ref.id === undefined) !== (ref.name === undefined),
    "a role needs exactly one of id or name",
  )
  .meta({
    description: "A role of the tenant: exactly one of id or name.",
    ...exactlyOne(["id", "name"], "role"),
  });

const clientRoles = z
  .object({
    default: z.array(roleRef).max(50).optional().meta({
      description:
        "The roles of a client Rotor creates for a ClientCredential without spec.roleIds. Absent: the tenant's Member role, which Rotor finds by its role type. Rotor adds the Member role to every client it creates, as AVEVA requires.",
    }),
    allowed: z.array(roleRef).max(50).optional().meta({
      description:
        "The roles a ClientCredential may ask for in spec.roleIds, besides the Member role and the default ones. Absent: none. Only the issuer's owner can grant more than the defaults, so no namespace can give its client a role such as Tenant Administrator.",
    }),
  })
  .meta({
    description:
      "Which roles the clients Rotor creates get. The issuer's status.clientRoles shows the defaults as found in the tenant, its ClientRoles condition whether each role here exists.",
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
    clientRoles: clientRoles.optional(),
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
  oauth2: registrationIssuer.optional(),
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

/**
 * Rotor sends unauthenticated DELETEs to Hydra's admin API: only a cluster administrator may
 * say where, or a namespace could aim them at any service Rotor can reach.
 */
const NO_ADMIN_URL_MESSAGE =
  "oauth2.hydraAdminUrl is for ClusterCredentialIssuers: Rotor would send deletions there, so only a cluster administrator may name it";

export const credentialIssuerSpec = z
  .object(issuerKinds)
  .refine((spec) => rulesOf(spec).every(noNamespaces), NO_NAMESPACES_MESSAGE)
  .refine((spec) => spec.oauth2?.hydraAdminUrl === undefined, NO_ADMIN_URL_MESSAGE)
  .meta({
    description: "Where secrets are minted. Set exactly one issuer kind.",
    "x-kubernetes-validations": [
      ...exactlyOne(ISSUER_KIND_FIELDS, "spec")["x-kubernetes-validations"],
      {
        rule: `!(${NAMED_CLIENTS}) || self.ocs.namedClients.all(r, !has(r.namespaces) && !has(r.namespaceSelector))`,
        message: NO_NAMESPACES_MESSAGE,
        fieldPath: ".ocs.namedClients",
      },
      {
        rule: "!has(self.oauth2) || !has(self.oauth2.hydraAdminUrl)",
        message: NO_ADMIN_URL_MESSAGE,
        fieldPath: ".oauth2.hydraAdminUrl",
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

/** A role as the tenant names it: what a client was, or will be, given. */
export const grantedRole = z.object({
  id: z.string().meta({ description: "The role's id at the tenant." }),
  name: z.string().meta({ description: "The role's name at the tenant." }),
});

export const issuerStatus = z
  .object({
    observedGeneration: z.int().optional().meta({ description: "The metadata.generation last acted upon." }),
    tokenEndpoint: z.string().optional().meta({ description: "The issuer's OAuth2 token endpoint." }),
    clientRoles: z.array(grantedRole).optional().meta({
      description:
        "OCS: the roles a client Rotor creates gets when its ClientCredential lists none, as found in the tenant at the last check.",
    }),
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
export type GrantedRole = z.output<typeof grantedRole>;
export type RoleRef = z.output<typeof roleRef>;
export type ClientRolesSpec = z.output<typeof clientRoles>;
