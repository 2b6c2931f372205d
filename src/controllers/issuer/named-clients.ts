/**
 * Which existing clients a namespace may name in a ClientCredential's spec.clientId at an OCS
 * issuer (`spec.ocs.namedClients`), and how a refusal reads. An administrator issuer acts on any
 * client of its tenant, so by default a ClientCredential gets only a client Rotor creates for
 * it; an auth.self issuer acts on a client only with that client's own secret, so by default
 * any client may be named. Pure: the resolver gathers the inputs.
 */
import type { CredentialIssuerSpec } from "../../api/issuer.ts";

type OcsSpec = NonNullable<CredentialIssuerSpec["ocs"]>;
type Rule = NonNullable<OcsSpec["namedClients"]>[number];

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

export function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
    if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = key in labels;
    const ok =
      operator === "In"
        ? has && values.includes(labels[key] as string)
        : operator === "NotIn"
          ? !has || !values.includes(labels[key] as string)
          : operator === "Exists"
            ? has
            : operator === "DoesNotExist"
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

export interface Naming {
  /** "CredentialIssuer team-a/adh" or "ClusterCredentialIssuer adh": for messages. */
  issuer: string;
  clientId: string;
  namespace: string;
  namespaceLabels: Record<string, string>;
}

const sameId = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** A rule without namespaces or namespaceSelector (a CredentialIssuer's) covers its namespace. */
function covers(rule: Rule, naming: Naming): boolean {
  if (!rule.clientIds.some((id) => sameId(id, naming.clientId))) return false;
  if (rule.namespaces) return rule.namespaces.includes(naming.namespace);
  if (rule.namespaceSelector) return selects(rule.namespaceSelector, naming.namespaceLabels);
  return true;
}

/** Undefined when the namespace may name the client; otherwise why not and what to change. */
export function namedClientRefusal(ocs: OcsSpec, naming: Naming): string | undefined {
  const rules = ocs.namedClients ?? [];
  if (ocs.auth.self && rules.length === 0) return undefined;
  if (rules.some((rule) => covers(rule, naming))) return undefined;
  const change =
    "remove spec.clientId so that Rotor creates a client (in a new ClientCredential: clientId is immutable)";
  if (rules.length === 0)
    return `${naming.issuer} lets ClientCredentials use only clients Rotor creates for them (its spec.ocs.namedClients lists none): ${change}, or ask the issuer's owner to list client ${naming.clientId} for namespace ${naming.namespace} in spec.ocs.namedClients`;
  return `${naming.issuer} does not list client ${naming.clientId} for namespace ${naming.namespace} in spec.ocs.namedClients: ${change}, or ask the issuer's owner to list it`;
}

/** The refusal for a ClientCredential that names the client the issuer authenticates as. */
export function administratorRefusal(naming: Naming): string {
  return `spec.clientId names the administrator client that ${naming.issuer} authenticates as; Rotor never hands it to a ClientCredential: create a ClientCredential without spec.clientId (Rotor creates a client for it) or with a client the issuer lists in spec.ocs.namedClients`;
}
