/** An OCS tenant connection for tests that call the OCS issuer directly, against the simulator. */
import { IssuerHttp } from "../../src/issuers/http/http.ts";
import { Throttle } from "../../src/issuers/http/throttle.ts";
import type { OcsTenant } from "../../src/issuers/ocs/issuer.ts";
import { RoleDirectory } from "../../src/issuers/ocs/role-directory.ts";
import { TokenSource } from "../../src/issuers/ocs/tokens.ts";
import type { OcsSimulator } from "../simulator/ocs/server.ts";

/** Quick retries, a generous call timeout and no rate limit worth the name. */
export function ocsTenant(
  sim: OcsSimulator,
  tenantId: string,
  overrides: Partial<OcsTenant> = {},
): OcsTenant {
  const http = new IssuerHttp({
    timeoutMs: 2000,
    callTimeoutMs: 20_000,
    maxAttempts: 4,
    backoff: { baseMs: 1, maxMs: 10 },
    maxRetryAfterMs: 5000,
    throttle: new Throttle({ maxConcurrent: 4, perSecond: 1000 }),
  });
  return {
    url: sim.url,
    tenantId,
    http,
    tokens: new TokenSource(http, sim.url),
    accessTokenLifetimeSeconds: undefined,
    clientRoles: {},
    roles: new RoleDirectory(),
    ...overrides,
  };
}
