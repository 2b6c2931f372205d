/**
 * A slow, lossy API server (issue 13, scenario 4). Rotor talks to the API server only through a
 * loopback proxy (support/api-proxy.ts) that adds 200–800 ms to every request, resets or holds
 * unanswered a share of them, refuses a share with 429 or 503, drops the answer of a share after
 * the API server acted on them, delays the chunks of watch streams and cuts some of those
 * streams. Meanwhile ClientCredentials of the embedded issuer are created and rotated. Rotor's
 * reconciles have a short budget (--reconcile-timeout), so some of them time out and must be
 * retried. Then single writes of a rotation are lost on purpose, one at a time; and every watch
 * request Rotor makes is held unanswered while a rotation is asked for.
 *
 * What must hold: every ClientCredential becomes Ready and acts on every rotate request exactly
 * once (one activated version and one switch of the target Secret per request), the target
 * Secret never holds a secret the issuer has revoked, the issuer never holds more than
 * maxSecrets for a client, no secret is left at the issuer that Rotor does not hold, every
 * target Secret gets a token from Rotor's endpoint, Rotor never exits, and the proxy really did
 * what it was asked to. When the faults stop, everything settles.
 *
 * The test itself talks to the API server directly: its view is the truth Rotor must reach.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../../../src/runtime/backoff.ts";
import {
  type ApiProxy,
  type Faults,
  NO_FAULTS,
  type ProxyCounts,
  startApiProxy,
  type TargetedFault,
} from "../../support/api-proxy.ts";
import { controlPlane, eventually, testNamespace } from "../../support/cluster.ts";
import {
  annotate,
  condition,
  createClientCredential,
  decoded,
  getClientCredential,
  issuerRecord,
  readSecret,
  requestToken,
  versionSecrets,
} from "../../support/credentials.ts";
import { metricSum } from "../../support/fleet.ts";
import { CREATION, History } from "../../support/history.ts";
import { type RotorProcess, startRotor } from "../../support/rotor.ts";

const CREDENTIALS = 6;
const ROTATIONS_UNDER_FAULTS = 3;
const MAX_ROTATIONS = 8;
const MAX_SECRETS = 3;
/** Short enough that a request held by the proxy (Rotor gives up on it after 15 s) outlasts it. */
const RECONCILE_TIMEOUT = "5s";

const FAULTS: Faults = {
  ...NO_FAULTS,
  latencyMs: 200,
  jitterMs: 600,
  resetShare: 0.08,
  hangShare: 0.02,
  refuseShare: 0.05,
  dropAnswerShare: 0.02,
  watchChunkDelayMs: 300,
  watchCutShare: 0.3,
  watchCutPeriodMs: 20_000,
};

/** Generous: timings never decide the outcome, only whether it is reached at all. */
const CONVERGE_MS = 240_000;
/**
 * While its watches are held, how long Rotor may take to act on a rotate request: far more than
 * a relist takes, far less than the 5 minutes after which an HTTP client gives up on headers.
 */
const HELD_WATCH_MS = 120_000;

/** What the test calls a ClientCredential's creation among its rotate requests. */
const names = Array.from({ length: CREDENTIALS }, (_, i) => `slow-${i}`);

let proxy: ApiProxy;
let rotor: RotorProcess;
let ns: Awaited<ReturnType<typeof testNamespace>>;

/** ClientCredential → the rotate requests it was asked for, CREATION first. */
const asked = new Map<string, string[]>();
let history: History;

const reconciles = (result: string) =>
  metricSum(rotor, "rotor_reconcile_total", (labels) => labels.includes(`result="${result}"`));

const describeCounts = (c: ProxyCounts) =>
  `${c.requests} requests (${c.watches} watches), ${c.delayed} delayed, ${c.reset} reset, ` +
  `${c.hung} held unanswered (${c.watchesHung} watches), ${c.refused429} refused 429, ${c.refused503} refused 503, ` +
  `${c.answersDropped} answers dropped after the API server acted, ${c.answersAbandoned} abandoned by Rotor ` +
  `(${c.unansweredWrites.length} writes unanswered), ${c.watchChunksDelayed} watch chunks delayed, ` +
  `${c.watchesCut} watches cut, ${c.upstreamErrors} upstream errors; unanswered writes: ` +
  `${c.unansweredWrites.map((w) => w.replace(/^(\w+) .*\/namespaces\/([^/]+)\/(.*)$/, "$1 $3")).join(", ")}`;

async function create(name: string): Promise<void> {
  asked.set(name, [CREATION]);
  await createClientCredential(ns.name, name, {
    validity: "1h",
    gracePeriod: "0s",
    maxSecrets: MAX_SECRETS,
    rollout: { strategy: "None" },
  });
  await eventually(
    `${name} Ready`,
    async () => {
      const cc = await getClientCredential(ns.name, name);
      return condition(cc, "Ready")?.status === "True" && cc?.status?.currentSecretId !== undefined;
    },
    CONVERGE_MS,
  );
}

/** Asks for a rotation and waits until Rotor acted on it (one request at a time: a newer one would replace it). */
async function rotate(name: string, request: string, timeoutMs = CONVERGE_MS): Promise<void> {
  asked.get(name)?.push(request);
  await annotate(ns.name, name, { "rotor.dev/rotate": request });
  await eventually(
    `${name} to act on rotate request ${request}`,
    async () => {
      const cc = await getClientCredential(ns.name, name);
      return cc?.status?.lastRotateRequest === request && condition(cc, "Ready")?.status === "True";
    },
    timeoutMs,
  );
}

/** Waits until only the current secret is left (grace 0 s: every superseded one is revoked). */
async function settle(name: string): Promise<void> {
  await eventually(
    `${name} to settle`,
    async () => {
      const cc = await getClientCredential(ns.name, name);
      const record = await issuerRecord(cc?.status?.clientId as string);
      const versions = await versionSecrets(ns.name, cc?.metadata.uid as string);
      return record?.secrets.length === 1 && versions.length === 1 && cc?.status?.secrets?.length === 1;
    },
    CONVERGE_MS,
  );
}

/**
 * Every invariant, for a settled ClientCredential; returns how many secrets the issuer minted
 * for it. Soft assertions: one broken invariant does not hide the state of the others.
 */
async function checkInvariants(name: string): Promise<number> {
  await sleep(1000); // the test's own watches catch up with the last writes
  const cc = await getClientCredential(ns.name, name);
  const clientId = cc?.status?.clientId as string;
  const record = await issuerRecord(clientId);
  const versions = await versionSecrets(ns.name, cc?.metadata.uid as string);
  const requests = asked.get(name) ?? [];
  // The target Secret never held a secret the issuer had already revoked.
  expect.soft(history.heldRevoked(name, clientId), `${name} held a revoked secret`).toEqual([]);
  // Every rotate request acted upon exactly once: one version activated for it, and the target
  // Secret switched once per request, never back.
  for (const request of requests)
    expect
      .soft(
        [...(history.activated.get(`${name} ${request}`) ?? [])],
        `versions activated for ${name} ${request}`,
      )
      .toHaveLength(1);
  const ids = history.targetIds(name);
  expect.soft(ids, `the secret ids ${name} held`).toHaveLength(requests.length);
  expect.soft(new Set(ids).size).toBe(ids.length);
  expect.soft(cc?.status?.lastRotateRequest).toBe(requests.at(-1));
  // Within budget all along, and no orphan: the issuer holds exactly the secret Rotor keeps.
  const most = Math.max(...(history.issuer.get(clientId) ?? []).map((r) => r.ids.length));
  expect.soft(most, `most secrets at the issuer for ${name}`).toBeLessThanOrEqual(MAX_SECRETS);
  expect
    .soft(record?.secrets.map((s) => s.id))
    .toEqual(versions.map((v) => v.metadata?.annotations?.["rotor.dev/secret-id"]));
  expect.soft(record?.secrets.map((s) => s.id)).toEqual([cc?.status?.currentSecretId]);
  expect.soft(ids.at(-1)).toBe(cc?.status?.currentSecretId);
  // The target works.
  const target = await readSecret(ns.name, name);
  const token = await requestToken(
    `${rotor.url}/oauth2/token`,
    clientId,
    decoded(target, "client_secret") as string,
  );
  expect.soft(token.status, `a token for ${name}`).toBe(200);
  return (record?.nextSecretId ?? 1) - 1;
}

beforeAll(async () => {
  const dir = controlPlane().dir;
  if (!dir)
    throw new Error("the slow API test needs the local control plane (its pki), not an outside cluster");
  ns = await testNamespace("slowapi");
  proxy = await startApiProxy(dir);
  rotor = await startRotor([`--reconcile-timeout=${RECONCILE_TIMEOUT}`], { server: proxy.url });
  history = new History(ns.name);
}, 180_000);

afterAll(async () => {
  history?.stop();
  proxy?.set(NO_FAULTS);
  await ns?.remove();
  await rotor?.stop();
  await proxy?.close();
});

describe("a slow, lossy API server", () => {
  it("creates and rotates every ClientCredential exactly once per request, within budget, leaving no orphan", {
    timeout: 600_000,
  }, async () => {
    proxy.set(FAULTS);
    const faultsOn = Date.now();
    const timeoutsBefore = await reconciles("timeout");
    const errorsBefore = await reconciles("error");
    /** What has not happened yet of what this test is about. */
    const missing = async () => {
      const c = proxy.counts;
      const seen = {
        "a delayed request": c.delayed,
        "a reset": c.reset,
        "a request held unanswered": c.hung,
        "a 429 or 503": c.refused429 + c.refused503,
        "an answer dropped after the API server acted": c.answersDropped,
        "a delayed watch chunk": c.watchChunksDelayed,
        "a cut watch": c.watchesCut,
        "a reconcile timed out (and retried)": (await reconciles("timeout")) - timeoutsBefore,
      };
      return Object.entries(seen).flatMap(([what, count]) => (count > 0 ? [] : [what]));
    };
    // Each rotates ROTATIONS_UNDER_FAULTS times, and more (up to MAX_ROTATIONS) while some fault
    // has not happened yet.
    await Promise.all(
      names.map(async (name) => {
        await create(name);
        for (
          let k = 1;
          k <= ROTATIONS_UNDER_FAULTS || (k <= MAX_ROTATIONS && (await missing()).length > 0);
          k++
        )
          await rotate(name, `r${k}`);
      }),
    );
    const convergedSeconds = (Date.now() - faultsOn) / 1000;
    const underFaults = structuredClone(proxy.counts);
    const timeouts = (await reconciles("timeout")) - timeoutsBefore;
    const errors = (await reconciles("error")) - errorsBefore;
    const rotations = [...asked.values()].reduce((sum, requests) => sum + requests.length - 1, 0);
    console.log(
      `slow API: ${CREDENTIALS} ClientCredentials created and rotated ${rotations} times in all under faults ` +
        `in ${convergedSeconds.toFixed(1)}s; proxy: ${describeCounts(underFaults)}; ` +
        `Rotor: ${timeouts} reconciles timed out, ${errors} failed (all retried)`,
    );
    // The faults really happened, and everything above converged regardless.
    expect(await missing(), "faults that never happened").toEqual([]);

    // The faults stop: one more rotation each, and everything settles.
    proxy.set(NO_FAULTS);
    const faultsOff = Date.now();
    await Promise.all(names.map((name) => rotate(name, "after")));
    for (const name of names) await settle(name);
    const settledSeconds = (Date.now() - faultsOff) / 1000;

    let mints = 0;
    for (const name of names) mints += await checkInvariants(name);
    expect(rotor.alive, "Rotor kept running").toBe(true);
    expect(rotor.restarts).toBe(0);
    const switches = [...asked.values()].reduce((sum, requests) => sum + requests.length, 0);
    console.log(
      `slow API: settled ${settledSeconds.toFixed(1)}s after the faults stopped (one more rotation each); ` +
        `the issuer minted ${mints} secrets for ${switches} switches (the others were revoked unused)`,
    );
  });

  /**
   * One write of a rotation is lost, and nothing else goes wrong: Rotor must finish that
   * rotation with the secret it minted (one mint for one request), and never revoke the secret
   * the target Secret holds before the target has moved on.
   */
  const lostWrites: Array<{
    what: string;
    fault: TargetedFault;
    /** The request that is lost, for the ClientCredential `name`. */
    matches: (name: string) => (method: string, url: URL) => boolean;
    /** What the proxy must report having done. */
    expected: RegExp;
  }> = [
    {
      what: "the version Secret is stored but the answer to its creation is lost (its retry meets AlreadyExists)",
      fault: "dropAnswer",
      matches: () => (method, url) =>
        method === "POST" && url.pathname === `/api/v1/namespaces/${ns.name}/secrets`,
      expected: /^POST .* → 201$/,
    },
    {
      what: "the write of the target Secret never reaches the API server",
      fault: "reset",
      matches: (name) => (method, url) =>
        method === "PATCH" && url.pathname === `/api/v1/namespaces/${ns.name}/secrets/${name}`,
      expected: /^PATCH /,
    },
  ];

  it.each(lostWrites.map((lost, i) => ({ ...lost, name: `lost-write-${i}` })))(
    "finishes a rotation once when $what",
    {
      timeout: 2 * CONVERGE_MS,
    },
    async ({ name, fault, matches, expected }) => {
      await create(name);
      const clientId = (await getClientCredential(ns.name, name))?.status?.clientId as string;
      const mintedBefore = ((await issuerRecord(clientId))?.nextSecretId ?? 1) - 1;
      let happened: string | undefined;
      void proxy.next(matches(name), fault).then((what) => {
        happened = what;
      });
      await rotate(name, "r1");
      await settle(name);
      expect(happened, "the lost write").toMatch(expected);
      const minted = await checkInvariants(name);
      expect.soft(minted - mintedBefore, "secrets minted for one rotate request").toBe(1);
    },
  );

  it("acts on a rotate request while every watch request it makes is held unanswered", {
    timeout: HELD_WATCH_MS + CONVERGE_MS + 60_000,
  }, async () => {
    const name = "held-watches";
    await create(name);
    // Every watch open now is cut within a second; every watch request after that is held.
    const open = proxy.watching;
    const heldBefore = proxy.counts.watchesHung;
    proxy.set({ watchHangShare: 1, watchCutShare: 1, watchCutPeriodMs: 1000 });
    await eventually(
      "every watch of Rotor's to be cut and its successor held",
      () => proxy.watching === 0 && proxy.counts.watchesHung - heldBefore >= open,
      CONVERGE_MS,
    );
    proxy.set({ watchCutShare: 0 });

    const asking = Date.now();
    await rotate(name, "held", HELD_WATCH_MS);
    const seconds = (Date.now() - asking) / 1000;
    console.log(
      `slow API: with ${proxy.counts.watchesHung - heldBefore} watch requests held, the rotation took ${seconds.toFixed(1)}s`,
    );

    proxy.set(NO_FAULTS);
    await settle(name);
    await checkInvariants(name);
    expect(rotor.alive, "Rotor kept running").toBe(true);
  });
});
