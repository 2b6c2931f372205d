/**
 * The CustomResourceDefinitions, derived from the zod schemas: the schemas are the one source
 * of truth, `crds/` is generated from here (`npm run generate`) and CI fails when it drifts.
 */
import { z } from "zod";
import { clientCredentialSpec, clientCredentialStatus } from "./clientcredential.ts";
import {
  CATEGORY,
  CLIENT_CREDENTIAL,
  CLUSTER_CREDENTIAL_ISSUER,
  CREDENTIAL_ISSUER,
  GROUP,
  type KindNames,
  VERSION,
} from "./group.ts";
import { clusterCredentialIssuerSpec, credentialIssuerSpec, issuerStatus } from "./issuer.ts";

type JsonSchema = { [key: string]: unknown };

interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "date" | "boolean" | "number";
  jsonPath: string;
  description: string;
  priority?: number;
}

/** JSON Schema keywords a structural schema does not allow, or that add nothing here. */
const DROPPED_KEYWORDS = new Set(["$schema", "propertyNames"]);
const INT64_SAFE = Number.MAX_SAFE_INTEGER;

/** Rewrites zod's JSON Schema (draft 2020-12) into a Kubernetes structural OpenAPI v3 schema. */
export function toStructural(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (DROPPED_KEYWORDS.has(key)) continue;
    // Unknown fields are pruned, and rejected under strict field validation (kubectl's
    // default); `additionalProperties: false` is not allowed in a structural schema.
    if (key === "additionalProperties" && value === false) continue;
    if ((key === "maximum" && value === INT64_SAFE) || (key === "minimum" && value === -INT64_SAFE)) continue;
    if (key === "properties") {
      const properties = value as Record<string, JsonSchema>;
      out.properties = Object.fromEntries(
        Object.entries(properties).map(([name, sub]) => [name, toStructural(sub)]),
      );
    } else if ((key === "items" || key === "additionalProperties") && typeof value === "object" && value) {
      out[key] = toStructural(value as JsonSchema);
    } else {
      out[key] = value;
    }
  }
  if (Array.isArray(out.required) && out.required.length === 0) delete out.required;
  if (out.type === "object" && out.properties && Object.keys(out.properties).length === 0)
    delete out.properties;
  return out;
}

function schemaOf(type: z.ZodType): JsonSchema {
  return toStructural(z.toJSONSchema(type, { io: "input", unrepresentable: "throw" }) as JsonSchema);
}

function crd(
  names: KindNames,
  spec: z.ZodType,
  status: z.ZodType,
  description: string,
  columns: PrinterColumn[],
): JsonSchema {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${names.plural}.${GROUP}`,
      labels: { "app.kubernetes.io/name": "rotor", "app.kubernetes.io/part-of": "rotor" },
    },
    spec: {
      group: GROUP,
      scope: names.scope,
      names: {
        kind: names.kind,
        listKind: names.listKind,
        plural: names.plural,
        singular: names.singular,
        shortNames: names.shortNames,
        categories: [CATEGORY],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: columns,
          schema: {
            openAPIV3Schema: {
              type: "object",
              description,
              required: ["spec"],
              properties: {
                apiVersion: { type: "string", description: "The versioned schema of this object." },
                kind: { type: "string", description: "The REST resource this object represents." },
                metadata: { type: "object" },
                spec: schemaOf(spec),
                // Until Rotor first writes it, the API server shows a status of generation -1,
                // so that kstatus (Flux) reads a new object as InProgress, not Current (as Flux's
                // own CRDs do).
                status: { ...schemaOf(status), default: { observedGeneration: -1 } },
              },
            },
          },
        },
      ],
    },
  };
}

const condition = (type: string) => `.status.conditions[?(@.type=="${type}")]`;

const issuerColumns: PrinterColumn[] = [
  {
    name: "Ready",
    type: "string",
    jsonPath: `${condition("Ready")}.status`,
    description: "Whether Rotor can use the issuer.",
  },
  { name: "Reason", type: "string", jsonPath: `${condition("Ready")}.reason`, description: "Why." },
  { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp", description: "Age." },
];

export function customResourceDefinitions(): JsonSchema[] {
  return [
    crd(
      CLIENT_CREDENTIAL,
      clientCredentialSpec,
      clientCredentialStatus,
      "ClientCredential is one OAuth2 client and its rotating secrets: Rotor mints each secret at the issuer, stores it in the target Secret, renews it before it expires, rolls the consuming workloads and revokes the superseded secret once no pod uses it.",
      [
        {
          name: "Ready",
          type: "string",
          jsonPath: `${condition("Ready")}.status`,
          description: "A valid secret is in the target Secret.",
        },
        {
          name: "Client ID",
          type: "string",
          jsonPath: ".status.clientId",
          description: "The client's id at the issuer.",
        },
        {
          name: "Secret",
          type: "string",
          jsonPath: ".status.currentSecretId",
          description: "The issuer's id of the current secret.",
        },
        {
          name: "Expires",
          type: "string",
          jsonPath: ".status.notAfter",
          description: "When the current secret expires.",
        },
        {
          name: "Renewal",
          type: "string",
          jsonPath: ".status.renewalTime",
          description: "When the next secret is minted.",
        },
        {
          name: "Slots",
          type: "integer",
          jsonPath: ".status.slots.used",
          description: "Secrets the client holds at the issuer.",
        },
        {
          name: "Consumers",
          type: "string",
          jsonPath: ".status.consumers.summary",
          description: "Workloads on the current secret / all.",
        },
        {
          name: "Reason",
          type: "string",
          jsonPath: `${condition("Ready")}.reason`,
          description: "Reason of the Ready condition.",
          priority: 1,
        },
        { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp", description: "Age." },
      ],
    ),
    crd(
      CREDENTIAL_ISSUER,
      credentialIssuerSpec,
      issuerStatus,
      "CredentialIssuer says where the ClientCredentials of its namespace have their secrets minted.",
      issuerColumns,
    ),
    crd(
      CLUSTER_CREDENTIAL_ISSUER,
      clusterCredentialIssuerSpec,
      issuerStatus,
      "ClusterCredentialIssuer says where ClientCredentials of any (selected) namespace have their secrets minted.",
      issuerColumns,
    ),
  ];
}
