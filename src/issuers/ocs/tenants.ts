/**
 * One connection per issuer object with `spec.ocs` (CredentialIssuer or ClusterCredentialIssuer):
 * its throttle, token cache and role directory are shared by every ClientCredential that uses
 * it (../http/connections.ts). The administrator's credentials are read from their Secret
 * whenever a token is needed.
 */
import type { KubeConfig } from "@kubernetes/client-node";
import { parseDuration } from "../../api/duration.ts";
import type { CredentialIssuerSpec } from "../../api/issuer.ts";
import { type ConnectionBasics, type ConnectionOptions, IssuerConnections } from "../http/connections.ts";
import { IssuerError } from "../issuer.ts";
import type { OcsTenant } from "./issuer.ts";
import { RoleDirectory } from "./role-directory.ts";
import { type Credential, TokenSource } from "./tokens.ts";

/** How long the administrator's client id, once read, guards the issuer's calls without a new read. */
const OWN_ID_FRESH_MS = 60_000;

export type OcsSpec = NonNullable<CredentialIssuerSpec["ocs"]>;

export interface Connection {
  tenant: OcsTenant;
  /** The administrator's credentials, read from their Secret whenever a token is needed. */
  adminCredential: () => Promise<Credential>;
  /** The administrator's client id, from a read of its Secret in the last minute. */
  adminClientId: () => Promise<string>;
}

export class OcsTenants extends IssuerConnections<OcsSpec, Connection> {
  constructor(kc: KubeConfig, options: ConnectionOptions) {
    super(kc, options, connectTenant);
  }
}

function connectTenant(spec: OcsSpec, { http, policy, readSecret }: ConnectionBasics): Connection {
  let ownId: { id: string; at: number } | undefined;
  const adminCredential = async (): Promise<Credential> => {
    const ref = spec.auth.clientCredentials?.secretRef;
    if (!ref) throw new IssuerError("Rejected", "the issuer has no auth.clientCredentials");
    const values = await readSecret(
      ref.name,
      [ref.clientIdKey, ref.clientSecretKey],
      `create it with the administrator client's ${ref.clientIdKey} and ${ref.clientSecretKey}`,
    );
    const credential = {
      clientId: values[ref.clientIdKey] as string,
      secret: values[ref.clientSecretKey] as string,
    };
    ownId = { id: credential.clientId, at: Date.now() };
    return credential;
  };
  return {
    tenant: {
      url: spec.url.replace(/\/+$/, ""),
      tenantId: spec.tenantId,
      http,
      tokens: new TokenSource(http, spec.url, policy),
      accessTokenLifetimeSeconds: spec.accessTokenLifetime
        ? Math.round(parseDuration(spec.accessTokenLifetime) / 1000)
        : undefined,
      clientRoles: spec.clientRoles ?? {},
      roles: new RoleDirectory(),
    },
    adminCredential,
    adminClientId: async () =>
      ownId && Date.now() - ownId.at < OWN_ID_FRESH_MS ? ownId.id : (await adminCredential()).clientId,
  };
}
