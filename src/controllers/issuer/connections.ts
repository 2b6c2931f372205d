/**
 * The connections to outside issuers, one per issuer object and kind, shared by the issuer
 * controller (which checks them) and the ClientCredential controller (which uses them): OCS
 * tenants, and OAuth2 servers with client registration together with where their registration
 * access tokens are kept (Secrets in Rotor's own namespace).
 */
import type { RegistrationStore } from "../../issuers/oauth2/registrations.ts";
import type { RegistrationServers } from "../../issuers/oauth2/servers.ts";
import type { OcsTenants } from "../../issuers/ocs/tenants.ts";

export interface IssuerConnections {
  ocs: OcsTenants;
  oauth2: RegistrationServers;
  registrations: RegistrationStore;
}

/** An issuer object is gone, or its spec no longer valid: its connections go too. */
export function forgetIssuer(connections: IssuerConnections, key: string): void {
  connections.ocs.forget(key);
  connections.oauth2.forget(key);
}
