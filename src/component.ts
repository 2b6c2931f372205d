/**
 * Which part of Rotor a process runs (`--component`), and where it may act (`--watch-namespaces`).
 *
 * One image, two Deployments, after cert-manager's components:
 * - `token-server`: the embedded issuer's token endpoint, discovery and JWKS (plus probes and
 *   metrics). Every workload talks to it, so it holds the least: it reads the issuer's registry
 *   and signing keys in Rotor's namespace and writes nothing anywhere. It never leads.
 * - `controller`: reconciles (leader-elected); creates and rotates the signing keys and the token
 *   endpoint's CA, and writes the registry; serves no tokens. It checks a new secret at the token server
 *   (`--token-server-url`, default `--issuer-url`), so a target Secret switches only once the
 *   endpoint workloads use accepts the new secret.
 * - `all` (the default): both in one process, as before the split.
 */

export const COMPONENTS = ["all", "controller", "token-server"] as const;
export type Component = (typeof COMPONENTS)[number];

export interface ComponentFlags {
  component: Component;
  /** Where the controller verifies new secrets (the token endpoint's base URL). */
  tokenServerUrl: string | undefined;
  /** The namespaces whose ClientCredentials Rotor serves; undefined: every namespace. */
  watchNamespaces: string[] | undefined;
  /** The token server never campaigns (it leads nothing and may not touch the Lease). */
  leaderElect: boolean;
}

/** What a component does; pure, so that the wiring in main.ts reads as a list of decisions. */
export interface ComponentRoles {
  /** Mounts the token endpoint, discovery and JWKS. */
  servesTokens: boolean;
  /** Runs the controllers (and campaigns for the Lease). */
  reconciles: boolean;
  /**
   * Creates, repairs and rotates the Secrets of keys in Rotor's namespace (the signing keys, the
   * token endpoint's CA and certificate); otherwise only reads them.
   */
  writesKeys: boolean;
}

export function rolesOf(component: Component): ComponentRoles {
  return {
    servesTokens: component !== "controller",
    reconciles: component !== "token-server",
    writesKeys: component !== "token-server",
  };
}

/** The base URL the controller verifies new secrets at. */
export function verifyBaseUrl(flags: ComponentFlags & { issuerUrl?: string }, localUrl: string): string {
  if (flags.component === "all") return localUrl;
  return flags.tokenServerUrl ?? (flags.issuerUrl as string);
}

const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function parseComponentFlags(
  values: Record<string, string | boolean | undefined>,
  usageError: (message: string) => never,
): ComponentFlags {
  const component = values.component as Component;
  if (!COMPONENTS.includes(component))
    usageError(`--component must be one of ${COMPONENTS.join(", ")}, not ${JSON.stringify(component)}`);
  const tokenServerUrl = values["token-server-url"] as string | undefined;
  if (component === "controller" && !values["issuer-url"])
    usageError(
      "--component=controller needs --issuer-url: the token server's URL as workloads reach it (it serves no tokens itself)",
    );
  if (tokenServerUrl !== undefined && component !== "controller")
    usageError("--token-server-url is for --component=controller only");
  if (tokenServerUrl !== undefined && !URL.canParse(tokenServerUrl))
    usageError(`--token-server-url must be a URL, not ${JSON.stringify(tokenServerUrl)}`);

  const listed = String(values["watch-namespaces"] ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  for (const name of listed)
    if (!NAMESPACE.test(name))
      usageError(`--watch-namespaces: ${JSON.stringify(name)} is not a namespace name`);
  if (listed.length > 0 && component === "token-server")
    usageError("--watch-namespaces is for the controller: the token server reads only Rotor's namespace");
  return {
    component,
    tokenServerUrl,
    watchNamespaces: listed.length > 0 ? [...new Set(listed)] : undefined,
    leaderElect: values["leader-elect"] === true && component !== "token-server",
  };
}
