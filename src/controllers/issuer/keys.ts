/** How issuer objects are named in work queues: `<kind>/<namespace>/<name>` or `<kind>/<name>`. */

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
