/** The rotor.dev API group: names shared by the CRDs, the controllers and the tests. */
export const GROUP = "rotor.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;
export const CATEGORY = "rotor";

export interface KindNames {
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: "Namespaced" | "Cluster";
}

export const CLIENT_CREDENTIAL: KindNames = {
  kind: "ClientCredential",
  listKind: "ClientCredentialList",
  plural: "clientcredentials",
  singular: "clientcredential",
  shortNames: ["cc", "clientcred"],
  scope: "Namespaced",
};

export const CREDENTIAL_ISSUER: KindNames = {
  kind: "CredentialIssuer",
  listKind: "CredentialIssuerList",
  plural: "credentialissuers",
  singular: "credentialissuer",
  shortNames: ["credissuer"],
  scope: "Namespaced",
};

export const CLUSTER_CREDENTIAL_ISSUER: KindNames = {
  kind: "ClusterCredentialIssuer",
  listKind: "ClusterCredentialIssuerList",
  plural: "clustercredentialissuers",
  singular: "clustercredentialissuer",
  shortNames: ["clustercredissuer"],
  scope: "Cluster",
};
