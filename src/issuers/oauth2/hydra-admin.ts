/**
 * Ory Hydra's admin API, where spec.oauth2.hydraAdminUrl names it (ClusterCredentialIssuers
 * only: the admin API manages every client of the server). Used for what RFC 7591/7592 cannot
 * do: find a client whose registration answer was lost, by its exact client_name (which carries
 * Rotor's marker: the ClientCredential's uid and the mint's id), and delete it; and delete a
 * client whose registration access token no longer works.
 *
 * No credential is sent here (Hydra's admin API has none of its own; it is protected by where it
 * listens), and the listing never shows secrets or tokens.
 */
import type { IssuerHttp, IssuerResponse } from "../http/http.ts";
import { IssuerError } from "../issuer.ts";
import { baseOf } from "./discovery.ts";

const PAGE_SIZE = 100;
/** One name is one mint: more clients than this of one name is not Rotor's doing. */
export const MAX_NAMED_CLIENTS = 1000;

/** `page_token` of the `rel="next"` link of Hydra's Link header, if any. */
export function nextPageToken(link: string | null): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(",")) {
    const match = /<([^>]*)>\s*;\s*rel="?next"?/.exec(part);
    if (!match) continue;
    const url = new URL(match[1] as string, "http://link.invalid");
    return url.searchParams.get("page_token") ?? undefined;
  }
  return undefined;
}

export class HydraAdmin {
  private readonly http: IssuerHttp;
  private readonly base: string;
  private readonly pageSize: number;

  constructor(http: IssuerHttp, adminUrl: string, pageSize = PAGE_SIZE) {
    this.http = http;
    this.base = baseOf(adminUrl);
    this.pageSize = pageSize;
  }

  /**
   * The ids of every client named exactly `clientName`. Hydra's Link header counts all clients,
   * not the filtered ones, so a page shorter than the page size ends the listing; the next
   * page is asked for with Hydra's page_token on Rotor's own URL (a Link naming another host
   * is never followed).
   */
  async clientsNamed(clientName: string, signal: AbortSignal): Promise<string[]> {
    const what = `list the clients named "${clientName}" at Hydra's admin API`;
    const ids: string[] = [];
    let token: string | undefined;
    for (;;) {
      const query = new URLSearchParams({ page_size: String(this.pageSize), client_name: clientName });
      if (token !== undefined) query.set("page_token", token);
      const response = await this.http.send({
        method: "GET",
        url: `${this.base}/admin/clients?${query}`,
        repeatable: true,
        what,
        signal,
      });
      this.expect(response, [200], what);
      const page = Array.isArray(response.body) ? (response.body as unknown[]) : [];
      for (const client of page) {
        const { client_id: id, client_name: name } = (client ?? {}) as Record<string, unknown>;
        if (typeof id === "string" && name === clientName) ids.push(id);
      }
      if (ids.length > MAX_NAMED_CLIENTS)
        throw new IssuerError(
          "Unavailable",
          `could not ${what}: more than ${MAX_NAMED_CLIENTS} clients have that name; Rotor stopped reading`,
        );
      token = nextPageToken(response.headers.get("link"));
      if (page.length < this.pageSize || token === undefined) return ids;
    }
  }

  /** Deletes a client; one that does not exist is deleted already. */
  async deleteClient(clientId: string, signal: AbortSignal): Promise<void> {
    const what = `delete client ${clientId} through Hydra's admin API`;
    const response = await this.http.send({
      method: "DELETE",
      url: `${this.base}/admin/clients/${encodeURIComponent(clientId)}`,
      repeatable: true,
      what,
      signal,
    });
    this.expect(response, [200, 204, 404], what);
  }

  private expect(response: IssuerResponse, ok: number[], what: string): void {
    if (ok.includes(response.status)) return;
    throw new IssuerError(
      "Unavailable",
      `could not ${what}: it answered ${response.status}; check spec.oauth2.hydraAdminUrl`,
    );
  }
}
