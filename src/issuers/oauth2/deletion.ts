/**
 * Deleting the clients Rotor registered: by RFC 7592 with each client's registration access
 * token, and, where Hydra's admin API is named, the clients of a lost registration by their
 * name (which carries Rotor's marker, unique to one mint).
 */
import type { IssuerResponse } from "../http/http.ts";
import { checkSameOrigin } from "../http/urls.ts";
import { IssuerError } from "../issuer.ts";
import { baseOf } from "./discovery.ts";
import { withoutSecrets } from "./registration.ts";
import type { Entry, RegisteredEntry } from "./registrations.ts";
import type { RegistrationServer } from "./servers.ts";

/**
 * RFC 7592 DELETE with the client's registration access token. Gone already counts as
 * deleted; RFC 7592 answers 401 both for a client that no longer exists and for a token that
 * no longer works, so where Hydra's admin API is known, it deletes the client to be sure.
 */
export async function deleteRegistered(
  server: RegistrationServer,
  entry: RegisteredEntry,
  signal: AbortSignal,
): Promise<void> {
  const { http, spec, policy, admin } = server;
  const uri = entry.registrationClientUri;
  checkSameOrigin(uri, baseOf(spec.issuerUrl), policy, {
    source: "Rotor's record names",
    endpoint: "registration_client_uri",
    baseField: "spec.oauth2.issuerUrl",
    advice: `Delete client ${entry.clientId} at the server by hand, or allow another host with Rotor's flag --allow-foreign-token-endpoints`,
  });
  const token = entry.registrationAccessToken;
  const what = `delete client ${entry.clientId} (RFC 7592)`;
  let response: IssuerResponse;
  try {
    response = await http.send({
      method: "DELETE",
      url: uri,
      headers: { authorization: `Bearer ${token}` },
      repeatable: true,
      what,
      signal,
    });
  } catch (error) {
    throw withoutSecrets(error, [token]);
  }
  const { status } = response;
  if (status === 200 || status === 204 || status === 404) return;
  if (status === 401) {
    if (admin) await admin.deleteClient(entry.clientId, signal);
    return;
  }
  throw new IssuerError(
    "Rejected",
    `could not ${what} at ${new URL(uri).host}: the server answered ${status}${
      status === 405 ? " (it does not let clients delete themselves)" : ""
    }; delete the client at the server by hand`,
  );
}

/**
 * Deletes every client named `clientName` that the group does not record as registered (those
 * are deleted by RFC 7592 when their turn comes), where Hydra's admin API can find them;
 * elsewhere nothing can be found, and nothing is done.
 */
export async function deleteLost(
  server: RegistrationServer,
  clientName: string,
  entries: Entry[],
  signal: AbortSignal,
): Promise<void> {
  const { admin } = server;
  if (!admin) return;
  const recorded = new Set(entries.flatMap((e) => (e.state === "registered" ? [e.clientId] : [])));
  for (const id of await admin.clientsNamed(clientName, signal))
    if (!recorded.has(id)) await admin.deleteClient(id, signal);
}
