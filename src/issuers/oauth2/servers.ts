/**
 * One connection per issuer object with `spec.oauth2` (CredentialIssuer or
 * ClusterCredentialIssuer): its throttle and discovered endpoints are shared by every
 * ClientCredential that uses it, so a thousand ClientCredentials make the server see a bounded
 * request rate. A changed spec gets a fresh connection. The last check of each issuer is kept
 * here too, as OcsTenants keeps it for OCS.
 */
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { RegistrationIssuerSpec } from "../../api/registration-issuer.ts";
import { isNotFound, makeClient } from "../../runtime/kube.ts";
import { type HttpOptions, IssuerHttp } from "../http/http.ts";
import { Throttle, type ThrottleOptions } from "../http/throttle.ts";
import { STRICT, type UrlPolicy } from "../http/urls.ts";
import { IssuerError } from "../issuer.ts";
import { Discovery } from "./discovery.ts";
import { HydraAdmin } from "./hydra-admin.ts";

/** `CredentialIssuer/<namespace>/<name>` or `ClusterCredentialIssuer/<name>`. */
export type IssuerKey = string;

/** An issuer's last check, as its Ready condition reports it. */
export interface Readiness {
  ok: boolean;
  reason: string;
  message: string;
}

/** The same flags as OCS's TenantOptions: one object can serve both. */
export interface RegistrationServerOptions {
  http: Omit<HttpOptions, "throttle" | "onAttempt">;
  throttle: ThrottleOptions;
  /** Where credentials may go (../http/urls.ts); default: https, or http to loopback, on issuerUrl's origin. */
  urls?: UrlPolicy;
  onAttempt?: (issuer: IssuerKey, method: string, outcome: string) => void;
}

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

export class RegistrationServers {
  private readonly core: CoreV1Api;
  private readonly options: RegistrationServerOptions;
  private readonly servers = new Map<IssuerKey, { fingerprint: string; server: RegistrationServer }>();
  private readonly checks = new Map<IssuerKey, Readiness>();

  constructor(kc: KubeConfig, options: RegistrationServerOptions) {
    this.core = makeClient(kc, CoreV1Api);
    this.options = options;
  }

  /** The connection for this issuer; `secretNamespace` is the only namespace its Secret may come from. */
  connect(key: IssuerKey, spec: RegistrationIssuerSpec, secretNamespace: string): RegistrationServer {
    const fingerprint = JSON.stringify([spec, secretNamespace]);
    const known = this.servers.get(key);
    if (known?.fingerprint === fingerprint) return known.server;
    const http = new IssuerHttp({
      ...this.options.http,
      throttle: new Throttle(this.options.throttle),
      onAttempt: (method, outcome) => this.options.onAttempt?.(key, method, outcome),
    });
    const policy = this.options.urls ?? STRICT;
    const server: RegistrationServer = {
      key,
      spec,
      http,
      policy,
      discovery: new Discovery(http, spec, policy),
      admin: spec.hydraAdminUrl ? new HydraAdmin(http, spec.hydraAdminUrl) : undefined,
      initialAccessToken: () => this.readInitialAccessToken(spec, secretNamespace),
    };
    this.servers.set(key, { fingerprint, server });
    this.checks.delete(key);
    return server;
  }

  forget(key: IssuerKey): void {
    this.servers.delete(key);
    this.checks.delete(key);
  }

  recordCheck(key: IssuerKey, result: Readiness): void {
    this.checks.set(key, result);
  }

  lastCheck(key: IssuerKey): Readiness | undefined {
    return this.checks.get(key);
  }

  private async readInitialAccessToken(
    spec: RegistrationIssuerSpec,
    namespace: string,
  ): Promise<string | undefined> {
    const ref = spec.initialAccessToken?.secretRef;
    if (!ref) return undefined;
    const where = `Secret ${namespace}/${ref.name}`;
    let data: Record<string, string>;
    try {
      data = (await this.core.readNamespacedSecret({ namespace, name: ref.name })).data ?? {};
    } catch (error) {
      if (isNotFound(error))
        throw new IssuerError(
          "Rejected",
          `${where} does not exist: create it with the initial access token under ${ref.key}, or remove spec.oauth2.initialAccessToken`,
        );
      throw error;
    }
    const value = data[ref.key]
      ? Buffer.from(data[ref.key] as string, "base64")
          .toString("utf8")
          .trim()
      : "";
    if (!value) throw new IssuerError("Rejected", `${where} has no data key ${ref.key}`);
    return value;
  }
}
