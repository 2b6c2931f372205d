/**
 * Whether Rotor can work with an OAuth2 server: discovery names a token endpoint and a
 * registration endpoint (or the spec does) where the URL policy lets secrets go, the initial
 * access token is readable where one is configured, and Hydra's admin API answers where it is
 * named. Nothing is registered: a check must leave nothing behind. The result is the issuer's
 * Ready condition and event, read by every namespace that may use the issuer, so it names no
 * credential.
 */
import { UrlRefused } from "../http/urls.ts";
import { NoRegistrationEndpoint } from "./discovery.ts";
import type { RegistrationServer } from "./servers.ts";

export interface RegistrationCheck {
  ok: boolean;
  reason:
    | "Reachable"
    | "Unreachable"
    | "CredentialsUnavailable"
    | "NoRegistrationEndpoint"
    | "InsecureUrl"
    | "ForeignTokenEndpoint";
  message: string;
}

/** A client_name nobody registers: the admin API is asked for it to see that it answers. */
const PROBE_NAME = "rotor-reachability-check";

export async function checkServer(server: RegistrationServer): Promise<RegistrationCheck> {
  const failed = (reason: RegistrationCheck["reason"], message: string): RegistrationCheck => ({
    ok: false,
    reason,
    message,
  });
  const signal = server.http.deadline();
  let endpoints: { token: string; registration: string };
  try {
    endpoints = await server.discovery.endpoints(signal, { fresh: true });
  } catch (error) {
    if (error instanceof UrlRefused) return failed(error.reason, error.message);
    if (error instanceof NoRegistrationEndpoint) return failed(error.reason, error.message);
    return failed("Unreachable", (error as Error).message);
  }
  let hasToken: boolean;
  try {
    hasToken = (await server.initialAccessToken()) !== undefined;
  } catch (error) {
    return failed("CredentialsUnavailable", (error as Error).message);
  }
  if (server.admin) {
    try {
      await server.admin.clientsNamed(PROBE_NAME, signal);
    } catch (error) {
      return failed("Unreachable", (error as Error).message);
    }
  }
  return {
    ok: true,
    reason: "Reachable",
    message: `the server's token endpoint is ${endpoints.token} and its registration endpoint ${endpoints.registration}${
      hasToken ? "; the initial access token is readable" : ""
    }${
      server.admin
        ? "; a client whose registration answer is lost is found through Hydra's admin API and deleted"
        : "; without spec.oauth2.hydraAdminUrl, a client whose registration answer is lost is left at the server (and reported)"
    }`,
  };
}
