/**
 * Which issuer a ClientCredential uses, and whether it may: no issuerRef means the embedded
 * issuer; a CredentialIssuer must be in the same namespace; a ClusterCredentialIssuer may
 * restrict namespaces with a label selector. An OCS or OAuth2 issuer's Secrets are read only
 * from the issuer's namespace (a ClusterCredentialIssuer's: Rotor's), never from the
 * ClientCredential's. At OCS, a client named in spec.clientId must be one the issuer lets the
 * namespace name (spec.ocs.namedClients), and never the administrator client the issuer
 * authenticates as; an OAuth2 issuer registers every client itself, so none can be named.
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import type { ClientCredentialSpec } from "../../api/clientcredential.ts";
import { GROUP, VERSION } from "../../api/group.ts";
import { clusterCredentialIssuerSpec, credentialIssuerSpec } from "../../api/issuer.ts";
import type { RegistrationIssuerSpec } from "../../api/registration-issuer.ts";
import type { Issuer } from "../../issuers/issuer.ts";
import { RegistrationIssuer } from "../../issuers/oauth2/issuer.ts";
import { sameClientId } from "../../issuers/ocs/api.ts";
import { OcsIssuer } from "../../issuers/ocs/issuer.ts";
import type { Connection, OcsSpec } from "../../issuers/ocs/tenants.ts";
import { isNotFound, makeClient } from "../../runtime/kube.ts";
import { describeError } from "../../runtime/log.ts";
import type { IssuerConnections } from "../issuer/connections.ts";
import { issuerKey } from "../issuer/keys.ts";
import { administratorRefusal, type Naming, namedClientRefusal, selects } from "../issuer/named-clients.ts";

export { selects } from "../issuer/named-clients.ts";

export type Resolved =
  /** selfAuth: each client authenticates with its own secret (OCS auth.self). */
  | { ok: true; issuer: Issuer; selfAuth: boolean }
  | { ok: false; reason: "IssuerError" | "IssuerNotAllowed"; message: string };

export class IssuerResolver {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly embedded: Issuer;
  private readonly connections: IssuerConnections;
  private readonly operatorNamespace: string;

  constructor(kc: KubeConfig, embedded: Issuer, connections: IssuerConnections, operatorNamespace: string) {
    this.custom = makeClient(kc, CustomObjectsApi);
    this.core = makeClient(kc, CoreV1Api);
    this.embedded = embedded;
    this.connections = connections;
    this.operatorNamespace = operatorNamespace;
  }

  /**
   * `clientSecrets`: the client's usable secrets, best first, for an issuer where each client
   * authenticates as itself.
   */
  async resolve(
    namespace: string,
    spec: ClientCredentialSpec,
    clientSecrets: () => Promise<string[]>,
  ): Promise<Resolved> {
    const ref = spec.issuerRef;
    if (!ref) return { ok: true, issuer: this.embedded, selfAuth: false };
    const what = `${ref.kind} ${ref.kind === "CredentialIssuer" ? `${namespace}/` : ""}${ref.name}`;
    try {
      if (ref.kind === "CredentialIssuer") {
        const object = (await this.custom.getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: "credentialissuers",
          name: ref.name,
        })) as { spec?: unknown };
        const parsed = credentialIssuerSpec.safeParse(object.spec);
        if (!parsed.success)
          return { ok: false, reason: "IssuerError", message: `${what} has an invalid spec` };
        const key = issuerKey({ kind: ref.kind, namespace, name: ref.name });
        return this.forKind(what, parsed.data, {
          key,
          secretNamespace: namespace,
          spec,
          clientSecrets,
          namespace,
          namespaceLabels: {},
        });
      }
      const object = (await this.custom.getClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: "clustercredentialissuers",
        name: ref.name,
      })) as { spec?: unknown };
      const parsed = clusterCredentialIssuerSpec.safeParse(object.spec);
      if (!parsed.success)
        return { ok: false, reason: "IssuerError", message: `${what} has an invalid spec` };
      const ns = await this.core.readNamespace({ name: namespace });
      if (!selects(parsed.data.namespaceSelector, ns.metadata?.labels ?? {})) {
        return {
          ok: false,
          reason: "IssuerNotAllowed",
          message: `${what} does not allow namespace ${namespace} (namespaceSelector)`,
        };
      }
      const key = issuerKey({ kind: ref.kind, name: ref.name });
      return this.forKind(what, parsed.data, {
        key,
        secretNamespace: this.operatorNamespace,
        spec,
        clientSecrets,
        namespace,
        namespaceLabels: ns.metadata?.labels ?? {},
      });
    } catch (error) {
      if (isNotFound(error)) return { ok: false, reason: "IssuerError", message: `${what} does not exist` };
      return { ok: false, reason: "IssuerError", message: `cannot read ${what}: ${describeError(error)}` };
    }
  }

  private async forKind(
    what: string,
    issuerSpec: { embedded?: unknown; ocs?: OcsSpec; oauth2?: RegistrationIssuerSpec },
    use: {
      key: string;
      secretNamespace: string;
      spec: ClientCredentialSpec;
      clientSecrets: () => Promise<string[]>;
      namespace: string;
      namespaceLabels: Record<string, string>;
    },
  ): Promise<Resolved> {
    if (issuerSpec.oauth2) return this.registration(what, issuerSpec.oauth2, use);
    const ocs = issuerSpec.ocs;
    if (!ocs) return { ok: true, issuer: this.embedded, selfAuth: false };
    const failed = (message: string): Resolved => ({ ok: false, reason: "IssuerError", message });
    const connection = this.connections.ocs.connect(use.key, ocs, use.secretNamespace);
    if (use.spec.clientId) {
      const naming = {
        issuer: what,
        clientId: use.spec.clientId,
        namespace: use.namespace,
        namespaceLabels: use.namespaceLabels,
      };
      const refused = await this.refuseNamedClient(ocs, connection, naming);
      if (refused) return refused;
    }
    const check = this.connections.ocs.lastCheck(use.key);
    if (check && !check.ok) return failed(`${what} is not Ready (${check.reason}): ${check.message}`);
    try {
      // The token endpoint is written into every target Secret: known before anything is minted.
      await connection.tenant.tokens.tokenEndpoint();
    } catch (error) {
      return failed(`${what}: ${describeError(error)}`);
    }
    if (!ocs.auth.self) {
      return {
        ok: true,
        issuer: new OcsIssuer(connection.tenant, {
          mode: "admin",
          credential: connection.adminCredential,
          ownClientId: connection.adminClientId,
        }),
        selfAuth: false,
      };
    }
    const clientId = use.spec.clientId;
    if (!clientId)
      return failed(
        `${what} uses auth.self, where each client rotates itself and none can be created: set spec.clientId and spec.bootstrapSecretRef`,
      );
    return {
      ok: true,
      issuer: new OcsIssuer(connection.tenant, { mode: "self", clientId, secrets: use.clientSecrets }),
      selfAuth: true,
    };
  }

  /**
   * An OAuth2 server with client registration: each secret is a client Rotor registers, so a
   * ClientCredential cannot name a client of its own.
   */
  private async registration(
    what: string,
    spec: RegistrationIssuerSpec,
    use: { key: string; secretNamespace: string; spec: ClientCredentialSpec },
  ): Promise<Resolved> {
    const failed = (message: string): Resolved => ({ ok: false, reason: "IssuerError", message });
    if (use.spec.clientId)
      return {
        ok: false,
        reason: "IssuerNotAllowed",
        message: `${what} registers a new client for every secret, so spec.clientId cannot name one: remove spec.clientId`,
      };
    const server = this.connections.oauth2.connect(use.key, spec, use.secretNamespace);
    const check = this.connections.oauth2.lastCheck(use.key);
    if (check && !check.ok) return failed(`${what} is not Ready (${check.reason}): ${check.message}`);
    try {
      // The token endpoint is written into every target Secret: known before anything is minted.
      await server.discovery.endpoints(server.http.deadline());
    } catch (error) {
      return failed(`${what}: ${describeError(error)}`);
    }
    return {
      ok: true,
      issuer: new RegistrationIssuer(server, this.connections.registrations),
      selfAuth: false,
    };
  }

  /** IssuerNotAllowed when the namespace may not name this client (named-clients.ts). */
  private async refuseNamedClient(
    ocs: OcsSpec,
    connection: Connection,
    naming: Naming,
  ): Promise<Resolved | undefined> {
    const notListed = namedClientRefusal(ocs, naming);
    if (notListed) return { ok: false, reason: "IssuerNotAllowed", message: notListed };
    if (!ocs.auth.clientCredentials) return undefined;
    let administrator: string;
    try {
      administrator = (await connection.adminCredential()).clientId;
    } catch (error) {
      return { ok: false, reason: "IssuerError", message: `${naming.issuer}: ${describeError(error)}` };
    }
    if (sameClientId(administrator, naming.clientId))
      return { ok: false, reason: "IssuerNotAllowed", message: administratorRefusal(naming) };
    return undefined;
  }
}
