/**
 * One connection per issuer object (CredentialIssuer or ClusterCredentialIssuer with
 * `spec.ocs`): its throttle and token cache are shared by every ClientCredential that uses it,
 * so a thousand ClientCredentials make one tenant see a bounded request rate. A changed spec
 * gets a fresh connection. The last health check of each issuer is kept here too.
 */
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { parseDuration } from "../../api/duration.ts";
import type { CredentialIssuerSpec } from "../../api/issuer.ts";
import { isNotFound, makeClient } from "../../runtime/kube.ts";
import { type HttpOptions, IssuerHttp } from "../http/http.ts";
import { Throttle, type ThrottleOptions } from "../http/throttle.ts";
import { STRICT, type UrlPolicy } from "../http/urls.ts";
import { IssuerError } from "../issuer.ts";
import type { OcsTenant } from "./issuer.ts";
import { RoleDirectory } from "./role-directory.ts";
import { type Credential, TokenSource } from "./tokens.ts";

/** How long the administrator's client id, once read, guards the issuer's calls without a new read. */
const OWN_ID_FRESH_MS = 60_000;

export type OcsSpec = NonNullable<CredentialIssuerSpec["ocs"]>;

/** `CredentialIssuer/<namespace>/<name>` or `ClusterCredentialIssuer/<name>`. */
export type IssuerKey = string;

/** An issuer's last check, as its Ready condition reports it. */
export interface Readiness {
  ok: boolean;
  reason: string;
  message: string;
}

export interface Connection {
  tenant: OcsTenant;
  /** The administrator's credentials, read from their Secret whenever a token is needed. */
  adminCredential: () => Promise<Credential>;
  /** The administrator's client id, from a read of its Secret in the last minute. */
  adminClientId: () => Promise<string>;
}

export interface TenantOptions {
  http: Omit<HttpOptions, "throttle" | "onAttempt">;
  throttle: ThrottleOptions;
  /** Where credentials may go (../http/urls.ts); default: https, or http to loopback, on spec.ocs.url's origin. */
  urls?: UrlPolicy;
  onAttempt?: (issuer: IssuerKey, method: string, outcome: string) => void;
}

export class OcsTenants {
  private readonly core: CoreV1Api;
  private readonly options: TenantOptions;
  private readonly connections = new Map<IssuerKey, { fingerprint: string; connection: Connection }>();
  private readonly checks = new Map<IssuerKey, Readiness>();

  constructor(kc: KubeConfig, options: TenantOptions) {
    this.core = makeClient(kc, CoreV1Api);
    this.options = options;
  }

  /** The connection for this issuer; `secretNamespace` is the only namespace its Secret may come from. */
  connect(key: IssuerKey, spec: OcsSpec, secretNamespace: string): Connection {
    const fingerprint = JSON.stringify([spec, secretNamespace]);
    const known = this.connections.get(key);
    if (known?.fingerprint === fingerprint) return known.connection;
    const http = new IssuerHttp({
      ...this.options.http,
      throttle: new Throttle(this.options.throttle),
      onAttempt: (method, outcome) => this.options.onAttempt?.(key, method, outcome),
    });
    let ownId: { id: string; at: number } | undefined;
    const adminCredential = async () => {
      const credential = await this.readAdminCredential(spec, secretNamespace);
      ownId = { id: credential.clientId, at: Date.now() };
      return credential;
    };
    const connection: Connection = {
      tenant: {
        url: spec.url.replace(/\/+$/, ""),
        tenantId: spec.tenantId,
        http,
        tokens: new TokenSource(http, spec.url, this.options.urls ?? STRICT),
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
    this.connections.set(key, { fingerprint, connection });
    this.checks.delete(key);
    return connection;
  }

  forget(key: IssuerKey): void {
    this.connections.delete(key);
    this.checks.delete(key);
  }

  recordCheck(key: IssuerKey, result: Readiness): void {
    this.checks.set(key, result);
  }

  lastCheck(key: IssuerKey): Readiness | undefined {
    return this.checks.get(key);
  }

  private async readAdminCredential(spec: OcsSpec, namespace: string): Promise<Credential> {
    const ref = spec.auth.clientCredentials?.secretRef;
    if (!ref) throw new IssuerError("Rejected", "the issuer has no auth.clientCredentials");
    const where = `Secret ${namespace}/${ref.name}`;
    let data: Record<string, string>;
    try {
      data = (await this.core.readNamespacedSecret({ namespace, name: ref.name })).data ?? {};
    } catch (error) {
      if (isNotFound(error))
        throw new IssuerError(
          "Rejected",
          `${where} does not exist: create it with the administrator client's ${ref.clientIdKey} and ${ref.clientSecretKey}`,
        );
      throw error;
    }
    const read = (key: string) => {
      const value = data[key];
      if (!value) throw new IssuerError("Rejected", `${where} has no data key ${key}`);
      return Buffer.from(value, "base64").toString("utf8").trim();
    };
    return { clientId: read(ref.clientIdKey), secret: read(ref.clientSecretKey) };
  }
}
