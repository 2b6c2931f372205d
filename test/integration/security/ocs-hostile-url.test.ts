/**
 * Issue 9, point 7 (the issuer's side): a CredentialIssuer's URL is whatever its namespace
 * chose. Here it is a server that wants to hurt Rotor: one answers without end as fast as Rotor
 * reads, one drips a byte at a time, one lists a Total-Count of 10^9 with pages that never run
 * out. Each is cut off with a clear error; Rotor, as its own process, stays healthy and small,
 * and a ClientCredential of another namespace on the embedded issuer still becomes Ready.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENDLESS_TOTAL_COUNT, OcsSimulator } from "../../simulator/ocs/server.ts";
import { eventually, testNamespace } from "../../support/cluster.ts";
import {
  condition,
  createClientCredential,
  getClientCredential,
  waitForReady,
} from "../../support/credentials.ts";
import { createIssuer, putSecret, readyCondition, waitForIssuer } from "../../support/issuers.ts";
import { type RotorProcess, startRotor } from "../../support/rotor.ts";

/** ClientCredentials per hostile issuer: together more than Rotor's 4 workers. */
const PER_ISSUER = 3;

let rotor: RotorProcess;
let attacker: Awaited<ReturnType<typeof testNamespace>>;
let victim: Awaited<ReturnType<typeof testNamespace>>;
const servers: Record<"endless" | "drip" | "pages", OcsSimulator> = {} as never;
/** On the listing server: one client per ClientCredential. */
const pagesClients: string[] = [];
let baselineRss = 0;

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${rotor.metricsUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.split(" ")[1]);
}

const HOSTILITY = {
  endless: { answers: "endless" },
  drip: { answers: "drip", dripIntervalMs: 200 },
  pages: { endlessPages: true },
} as const;

beforeAll(async () => {
  attacker = await testNamespace("hostile");
  victim = await testNamespace("victim");
  rotor = await startRotor([
    "--issuer-request-timeout=2s",
    "--issuer-call-timeout=5s",
    "--finalizer-timeout=5s",
  ]);
  baselineRss = await metric("process_resident_memory_bytes");
  for (const kind of ["endless", "drip", "pages"] as const) {
    const server = await OcsSimulator.start();
    servers[kind] = server;
    const tenant = server.addTenant();
    const admin = server.addAdminClient(tenant);
    await putSecret(attacker.name, `${kind}-admin`, {
      client_id: admin.clientId,
      client_secret: admin.secret,
    });
    if (kind === "pages")
      for (let i = 0; i < PER_ISSUER; i++) pagesClients.push(server.addClient(tenant).clientId);
    // Hostile before the issuer exists: its first check must meet the hostile answer.
    server.setHostility(HOSTILITY[kind]);
    await createIssuer(
      { namespace: attacker.name, name: kind },
      {
        ocs: {
          url: server.url,
          tenantId: tenant,
          auth: { clientCredentials: { secretRef: { name: `${kind}-admin` } } },
          // The attacker owns this issuer: it may list whatever it likes for itself.
          ...(kind === "pages" ? { namedClients: [{ clientIds: pagesClients }] } : {}),
        },
      },
    );
  }
  for (const kind of ["endless", "drip", "pages"] as const)
    for (let i = 0; i < PER_ISSUER; i++)
      await createClientCredential(attacker.name, `${kind}-${i}`, {
        issuerRef: { kind: "CredentialIssuer", name: kind },
        rollout: { strategy: "None" },
        // On the listing server, each names an existing client: the first thing Rotor does is list.
        ...(kind === "pages" ? { clientId: pagesClients[i] } : {}),
      });
});
afterAll(async () => {
  await attacker?.remove();
  await victim?.remove();
  await rotor?.stop();
  for (const server of Object.values(servers)) await server.stop();
});

describe("a CredentialIssuer whose URL is a hostile server", () => {
  it("does not keep another namespace's ClientCredential on the embedded issuer from becoming Ready", {
    timeout: 120_000,
  }, async () => {
    const started = Date.now();
    await createClientCredential(victim.name, "innocent", { rollout: { strategy: "None" } });
    await waitForReady(victim.name, "innocent");
    console.info(`victim Ready ${((Date.now() - started) / 1000).toFixed(1)}s after creation, under attack`);
  });

  it("cuts off an answer that never ends, and says so", { timeout: 90_000 }, async () => {
    const issuer = await waitForIssuer({ namespace: attacker.name, name: "endless" }, "False", "Unreachable");
    // Discovery, the token and the client list are shared by the check and the ClientCredentials'
    // reconciles: whichever call met the endless answer first says so.
    expect(readyCondition(issuer)?.message).toMatch(
      /could not (read the OpenID discovery document|get a token for the administrator client|list the clients of tenant [0-9a-f-]+): the answer from 127\.0\.0\.1:\d+ is longer than 1024 KiB; Rotor stopped reading it/,
    );
  });

  it("ends a call that drips, at --issuer-call-timeout, and says so", { timeout: 90_000 }, async () => {
    const issuer = await waitForIssuer({ namespace: attacker.name, name: "drip" }, "False", "Unreachable");
    expect(readyCondition(issuer)?.message).toContain(
      "could not read the OpenID discovery document: no complete answer within 5s, Rotor's limit for one issuer call",
    );
  });

  it("stops following a list whose Total-Count and pages never end, and says so", {
    timeout: 90_000,
  }, async () => {
    await waitForIssuer({ namespace: attacker.name, name: "pages" }, "True", "Authenticated");
    const message = await eventually("a ClientCredential on the endless list to say why", async () => {
      const ready = condition(await getClientCredential(attacker.name, "pages-0"), "Ready");
      return ready?.reason === "IssuerError" && ready.message.includes("lists more than")
        ? ready.message
        : undefined;
    });
    expect(message).toContain(`the issuer lists more than 1000 secrets (Total-Count ${ENDLESS_TOTAL_COUNT})`);
  });

  it("stays healthy and small throughout", async () => {
    expect((await fetch(`${rotor.metricsUrl}/healthz`)).status).toBe(200);
    expect(rotor.restarts).toBe(0);
    const rss = await metric("process_resident_memory_bytes");
    console.info(
      `Rotor RSS ${Math.round(baselineRss / 2 ** 20)} MiB at start, ${Math.round(rss / 2 ** 20)} MiB under attack; the endless server sent ${Math.round(servers.endless.stats.hostileBytesSent / 2 ** 20)} MiB before Rotor hung up`,
    );
    // Each endless answer is read to 1 MiB: Rotor grows by a few answers at most, not by what
    // the servers would send.
    expect(rss - baselineRss).toBeLessThan(150 * 2 ** 20);
  });
});
