/** How issuer objects are named in work queues, and how Rotor authenticates to one. */
import type { OcsAuth } from "../../issuers/ocs/issuer.ts";
import type { Connection, OcsSpec } from "./tenants.ts";

export interface IssuerRef {
  kind: "CredentialIssuer" | "ClusterCredentialIssuer";
  /** Only for a CredentialIssuer. */
  namespace?: string;
  name: string;
}

export const issuerKey = (ref: IssuerRef): string =>
  ref.kind === "CredentialIssuer" ? `${ref.kind}/${ref.namespace}/${ref.name}` : `${ref.kind}/${ref.name}`;

export function parseIssuerKey(key: string): IssuerRef {
  const [kind, first, second] = key.split("/") as [IssuerRef["kind"], string, string | undefined];
  return second === undefined ? { kind, name: first } : { kind, namespace: first, name: second };
}

/** How the issuer's own check authenticates: as the administrator, or (auth.self) not at all. */
export function adminAuth(connection: Connection, spec: OcsSpec): OcsAuth {
  return spec.auth.self
    ? { mode: "self", clientId: "", secrets: async () => [] }
    : { mode: "admin", credential: connection.adminCredential };
}
