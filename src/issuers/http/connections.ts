/**
 * One connection per issuer object (CredentialIssuer or ClusterCredentialIssuer) of an issuer
 * that speaks HTTP: its throttle and what it learned (tokens, discovered endpoints) are shared
 * by every ClientCredential that uses it, so a thousand ClientCredentials make one server see a
 * bounded request rate. A changed spec gets a fresh connection. The last check of each issuer is
 * kept here too: its ClientCredentials wait while it is not Ready.
 */
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { isNotFound, makeClient } from "../../runtime/kube.ts";
import { IssuerError } from "../issuer.ts";
import { type HttpOptions, IssuerHttp } from "./http.ts";
import { Throttle, type ThrottleOptions } from "./throttle.ts";
import { STRICT, type UrlPolicy } from "./urls.ts";

/** `CredentialIssuer/<namespace>/<name>` or `ClusterCredentialIssuer/<name>`. */
export type IssuerKey = string;

/** An issuer's last check, as its Ready condition reports it. */
export interface Readiness {
  ok: boolean;
  reason: string;
  message: string;
}

/** Rotor's limits for every outside issuer: the same flags serve each kind. */
export interface ConnectionOptions {
  http: Omit<HttpOptions, "throttle" | "onAttempt">;
  throttle: ThrottleOptions;
  /** Where credentials may go (urls.ts); default: https, or http to loopback, on the issuer's own origin. */
  urls?: UrlPolicy;
  onAttempt?: (issuer: IssuerKey, method: string, outcome: string) => void;
}

/** What a connection is built from: a fresh HTTP client with its own throttle, and the URL policy. */
export interface ConnectionBasics {
  key: IssuerKey;
  http: IssuerHttp;
  policy: UrlPolicy;
  /** Reads keys of a Secret in the issuer's Secret namespace (trimmed), saying what to do when absent. */
  readSecret: (name: string, keys: string[], advice: string) => Promise<Record<string, string>>;
}

export class IssuerConnections<Spec, Connection> {
  private readonly core: CoreV1Api;
  private readonly options: ConnectionOptions;
  private readonly build: (spec: Spec, basics: ConnectionBasics) => Connection;
  private readonly connections = new Map<IssuerKey, { fingerprint: string; connection: Connection }>();
  private readonly checks = new Map<IssuerKey, Readiness>();

  constructor(
    kc: KubeConfig,
    options: ConnectionOptions,
    build: (spec: Spec, basics: ConnectionBasics) => Connection,
  ) {
    this.core = makeClient(kc, CoreV1Api);
    this.options = options;
    this.build = build;
  }

  /** The connection for this issuer; `secretNamespace` is the only namespace its Secrets may come from. */
  connect(key: IssuerKey, spec: Spec, secretNamespace: string): Connection {
    const fingerprint = JSON.stringify([spec, secretNamespace]);
    const known = this.connections.get(key);
    if (known?.fingerprint === fingerprint) return known.connection;
    const http = new IssuerHttp({
      ...this.options.http,
      throttle: new Throttle(this.options.throttle),
      onAttempt: (method, outcome) => this.options.onAttempt?.(key, method, outcome),
    });
    const connection = this.build(spec, {
      key,
      http,
      policy: this.options.urls ?? STRICT,
      readSecret: (name, keys, advice) => this.readSecret(secretNamespace, name, keys, advice),
    });
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

  /** Read whenever needed, never kept: an edited Secret is used at the next call. */
  private async readSecret(
    namespace: string,
    name: string,
    keys: string[],
    advice: string,
  ): Promise<Record<string, string>> {
    const where = `Secret ${namespace}/${name}`;
    let data: Record<string, string>;
    try {
      data = (await this.core.readNamespacedSecret({ namespace, name })).data ?? {};
    } catch (error) {
      if (isNotFound(error)) throw new IssuerError("Rejected", `${where} does not exist: ${advice}`);
      throw error;
    }
    const values: Record<string, string> = {};
    for (const key of keys) {
      const value = data[key]
        ? Buffer.from(data[key] as string, "base64")
            .toString("utf8")
            .trim()
        : "";
      if (!value) throw new IssuerError("Rejected", `${where} has no data key ${key}`);
      values[key] = value;
    }
    return values;
  }
}
