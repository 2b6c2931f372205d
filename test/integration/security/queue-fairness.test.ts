/**
 * One slow issuer must not hold every worker (issue 9, point 7, the work-queue half). A tenant
 * points its CredentialIssuer at a server that accepts connections and never answers, and
 * creates a dozen ClientCredentials that use it; Rotor's issuer requests are given 10 minutes
 * (--issuer-request-timeout), so each of those reconciles hangs far longer than this test. While
 * they hang, a ClientCredential of another namespace, with the embedded issuer, must still
 * become Ready: one namespace's keys hold at most workers − 1 of the workers.
 */
import { createServer, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, testNamespace } from "../../support/cluster.ts";
import {
  condition,
  createClientCredential,
  getClientCredential,
  waitForReady,
} from "../../support/credentials.ts";
import { createIssuer, putSecret } from "../../support/issuers.ts";
import { type RotorProcess, startRotor } from "../../support/rotor.ts";

const HOSTILE_CREDENTIALS = 12;
const ROLE = "7ad2b9ef-5386-4ead-ac9f-ad99c5c5b977";

let rotor: RotorProcess;
let hostile: Awaited<ReturnType<typeof testNamespace>>;
let victim: Awaited<ReturnType<typeof testNamespace>>;
const sockets = new Set<Socket>();
let requests = 0;
const silent = createServer((socket) => {
  sockets.add(socket);
  socket.on("data", () => requests++); // read, never answer
  socket.on("close", () => sockets.delete(socket));
});

beforeAll(async () => {
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  hostile = await testNamespace("hostile");
  victim = await testNamespace("victim");
  rotor = await startRotor(["--workers=4", "--issuer-request-timeout=10m"]);
});

afterAll(async () => {
  // Let the hung requests fail, so that the hostile ClientCredentials can be deleted.
  silent.close();
  for (const socket of sockets) socket.destroy();
  await hostile?.remove();
  await victim?.remove();
  await rotor?.stop();
});

describe("a tenant's issuer that never answers", () => {
  it("does not keep another namespace's ClientCredential from becoming Ready", {
    timeout: 120_000,
  }, async () => {
    const { port } = silent.address() as { port: number };
    await putSecret(hostile.name, "admin", { client_id: "admin", client_secret: "not-a-real-secret" });
    await createIssuer(
      { namespace: hostile.name, name: "silent" },
      {
        ocs: {
          url: `http://127.0.0.1:${port}`,
          tenantId: "2d6e3f0a-7b1c-4e8d-9f2a-5c4b3a291807",
          auth: { clientCredentials: { secretRef: { name: "admin" } } },
        },
      },
    );
    for (let i = 0; i < HOSTILE_CREDENTIALS; i++)
      await createClientCredential(hostile.name, `hung-${i}`, {
        issuerRef: { kind: "CredentialIssuer", name: "silent" },
        roleIds: [ROLE],
      });
    // The hostile reconciles are now waiting on the silent server.
    await eventually("Rotor to call the silent issuer", () => requests > 0 || undefined);
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    await createClientCredential(victim.name, "victim", {});
    await waitForReady(victim.name, "victim");

    // ... while the silent issuer still holds the hostile namespace's reconciles.
    expect(sockets.size).toBeGreaterThan(0);
    for (let i = 0; i < HOSTILE_CREDENTIALS; i++) {
      const cc = await getClientCredential(hostile.name, `hung-${i}`);
      expect(condition(cc, "Ready")?.status).not.toBe("True");
    }
  });
});
