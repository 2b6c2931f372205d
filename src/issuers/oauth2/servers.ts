/**
 * One connection per issuer object with `spec.oauth2` (CredentialIssuer or
 * ClusterCredentialIssuer): its throttle and discovered endpoints are shared by every
 * ClientCredential that uses it (../http/connections.ts).
 */
import type { KubeConfig } from "@kubernetes/client-node";
import type { RegistrationIssuerSpec } from "../../api/registration-issuer.ts";
import {
  type ConnectionBasics,
  type ConnectionOptions,
  IssuerConnections,
  type IssuerKey,
} from "../http/connections.ts";
import type { IssuerHttp } from "../http/http.ts";
import type { UrlPolicy } from "../http/urls.ts";
import { Discovery } from "./discovery.ts";
import { HydraAdmin } from "./hydra-admin.ts";

export interface RegistrationServer {
  key: IssuerKey;
  spec: RegistrationIssuerSpec;
  http: IssuerHttp;
  policy: UrlPolicy;
  discovery: Discovery;
  /** Present with spec.oauth2.hydraAdminUrl. */
  admin: HydraAdmin | undefined;
  /** The initial access token, read from its Secret at each use; undefined when none is configured. */
  initialAccessToken: () => Promise<string | undefined>;
}

export class RegistrationServers extends IssuerConnections<RegistrationIssuerSpec, RegistrationServer> {
  constructor(kc: KubeConfig, options: ConnectionOptions) {
    super(kc, options, connectServer);
  }
}

function connectServer(
  spec: RegistrationIssuerSpec,
  { key, http, policy, readSecret }: ConnectionBasics,
): RegistrationServer {
  return {
    key,
    spec,
    http,
    policy,
    discovery: new Discovery(http, spec, policy),
    admin: spec.hydraAdminUrl ? new HydraAdmin(http, spec.hydraAdminUrl) : undefined,
    initialAccessToken: async () => {
      const ref = spec.initialAccessToken?.secretRef;
      if (!ref) return undefined;
      const values = await readSecret(
        ref.name,
        [ref.key],
        `create it with the initial access token under ${ref.key}, or remove spec.oauth2.initialAccessToken`,
      );
      return values[ref.key];
    },
  };
}
