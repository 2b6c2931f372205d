/**
 * A slow, lossy API server for fault tests: a loopback HTTPS proxy in front of the local control
 * plane's kube-apiserver that Rotor is pointed at instead. It serves the API server's own
 * certificate (valid for 127.0.0.1, trusted by the kubeconfig's CA), so Rotor's kubeconfig only
 * changes its server URL, and forwards every request as it came (method, path, query, headers
 * with the bearer token, body). Answers stream back as they arrive: a watch is one long response.
 *
 * The faults, changeable at run time with `set()`: latency added to every request, a share of
 * requests dropped (the connection reset unanswered, or held unanswered until the client gives
 * up), a share refused with 429 or 503 as an overloaded API server refuses them, the chunks of
 * watch streams delayed, and a share of watch streams cut in the middle. `counts` says what it
 * did, so a test can check that the faults really happened.
 */
import { readFileSync } from "node:fs";
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { Agent, createServer, request as httpsRequest } from "node:https";
import type { Socket } from "node:net";
import { join } from "node:path";
import { Transform } from "node:stream";
import { loadState } from "../../hack/controlplane/components.ts";

export interface Faults {
  /** Added to every request before it is forwarded (or refused, or dropped). */
  latencyMs: number;
  /** Plus a uniformly random share of this. */
  jitterMs: number;
  /** Requests whose connection is reset without an answer (never forwarded). */
  resetShare: number;
  /** Requests held without an answer until the client gives up (never forwarded). */
  hangShare: number;
  /** Requests answered 429 (TooManyRequests, Retry-After: 1) or 503 (ServiceUnavailable), half each. */
  refuseShare: number;
  /** Each chunk of a watch stream waits up to this long (uniformly random) before it is passed on. */
  watchChunkDelayMs: number;
  /** Watch streams whose connection is destroyed after a while, mid-stream. */
  watchCutShare: number;
  /** When a cut watch is cut: after a uniformly random time up to this. */
  watchCutAfterMs: number;
}

export const NO_FAULTS: Faults = {
  latencyMs: 0,
  jitterMs: 0,
  resetShare: 0,
  hangShare: 0,
  refuseShare: 0,
  watchChunkDelayMs: 0,
  watchCutShare: 0,
  watchCutAfterMs: 0,
};

export interface ProxyCounts {
  requests: number;
  watches: number;
  delayed: number;
  reset: number;
  hung: number;
  refused429: number;
  refused503: number;
  forwarded: number;
  watchChunksDelayed: number;
  watchesCut: number;
  /** Forwarded non-watch requests whose answer never reached the client (it gave up first). */
  answersLost: number;
  /** The writes among those, as `METHOD path`: the API server may have applied them. */
  lostWrites: string[];
  /** Requests the API server itself could not be reached for. */
  upstreamErrors: number;
}

export interface ApiProxy {
  /** `https://127.0.0.1:<port>`: the server URL for a kubeconfig. */
  readonly url: string;
  readonly faults: Faults;
  readonly counts: ProxyCounts;
  /**
   * Changes some faults from now on: for the requests that arrive, and for the watch streams
   * already open (the delay of their next chunks; each one not yet doomed draws its cut again).
   */
  set(faults: Partial<Faults>): void;
  close(): Promise<void>;
}

interface OpenWatch {
  res: ServerResponse;
  /** Set once the stream is doomed. */
  cut?: NodeJS.Timeout;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
]);

const endToEnd = (headers: IncomingHttpHeaders): OutgoingHttpHeaders =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));

const isWatch = (url: URL) =>
  ["1", "true"].includes(url.searchParams.get("watch") ?? "") || url.pathname.includes("/watch/");

const chance = (share: number) => share > 0 && Math.random() < share;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The Status body an API server refuses a request with. */
function refuse(res: ServerResponse, code: 429 | 503): void {
  const status =
    code === 429
      ? {
          reason: "TooManyRequests",
          message: "Too many requests, please try again later.",
          details: { retryAfterSeconds: 1 },
        }
      : { reason: "ServiceUnavailable", message: "the server is currently unable to handle the request" };
  const body = JSON.stringify({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    ...status,
    code,
  });
  res.writeHead(code, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    ...(code === 429 ? { "retry-after": "1" } : {}),
  });
  res.end(body);
}

/** Starts the proxy in front of the API server of the local control plane in `dir`, without faults. */
export async function startApiProxy(dir: string, initial: Partial<Faults> = {}): Promise<ApiProxy> {
  const pki = (name: string) => readFileSync(join(dir, "pki", name));
  const upstream = new URL(loadState(dir).server);
  if (upstream.hostname !== "127.0.0.1") throw new Error(`the API server is not on loopback: ${upstream}`);
  const agent = new Agent({ ca: pki("ca.crt"), keepAlive: true });
  const faults: Faults = { ...NO_FAULTS, ...initial };
  const counts: ProxyCounts = {
    requests: 0,
    watches: 0,
    delayed: 0,
    reset: 0,
    hung: 0,
    refused429: 0,
    refused503: 0,
    forwarded: 0,
    watchChunksDelayed: 0,
    watchesCut: 0,
    answersLost: 0,
    lostWrites: [],
    upstreamErrors: 0,
  };
  const sockets = new Set<Socket>();
  const openWatches = new Set<OpenWatch>();
  /** A watch stream draws its fate when it opens and whenever the faults change. */
  const drawCut = (stream: OpenWatch) => {
    if (stream.cut || !chance(faults.watchCutShare)) return;
    stream.cut = setTimeout(() => {
      counts.watchesCut++;
      stream.res.destroy();
    }, Math.random() * faults.watchCutAfterMs);
  };

  const server = createServer({ cert: pki("apiserver.crt"), key: pki("apiserver.key") }, async (req, res) => {
    counts.requests++;
    const url = new URL(req.url ?? "/", upstream);
    const watch = isWatch(url);
    if (watch) counts.watches++;
    // A request's fate is drawn from the faults as they are when it arrives.
    const f = { ...faults };
    const delay = f.latencyMs + Math.random() * f.jitterMs;
    if (delay > 0) {
      counts.delayed++;
      await sleep(delay);
      if (req.socket.destroyed) return; // the client gave up meanwhile
    }
    if (chance(f.resetShare)) {
      counts.reset++;
      req.socket.destroy();
      return;
    }
    if (chance(f.hangShare)) {
      counts.hung++; // never answered: the client's own timeout ends it
      return;
    }
    if (chance(f.refuseShare)) {
      const code = Math.random() < 0.5 ? 429 : 503;
      counts[code === 429 ? "refused429" : "refused503"]++;
      refuse(res, code);
      return;
    }

    counts.forwarded++;
    const forward = httpsRequest(url, {
      method: req.method,
      headers: { ...endToEnd(req.headers), host: upstream.host },
      agent,
    });
    let clientGone = false;
    res.on("close", () => {
      if (res.writableFinished) return;
      clientGone = true;
      forward.destroy();
      if (watch) return;
      counts.answersLost++;
      if (req.method !== "GET") counts.lostWrites.push(`${req.method} ${url.pathname}`);
    });
    forward.on("error", () => {
      if (!clientGone) counts.upstreamErrors++;
      res.destroy();
    });
    forward.on("response", (answer) => {
      answer.on("error", () => res.destroy());
      res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
      if (!watch) {
        answer.pipe(res);
        return;
      }
      const stream: OpenWatch = { res };
      openWatches.add(stream);
      res.on("close", () => {
        clearTimeout(stream.cut);
        openWatches.delete(stream);
      });
      drawCut(stream);
      const slow = new Transform({
        transform(chunk, _encoding, done) {
          const most = faults.watchChunkDelayMs;
          if (most <= 0) return done(null, chunk);
          counts.watchChunksDelayed++;
          setTimeout(() => done(null, chunk), Math.random() * most);
        },
      });
      answer.pipe(slow).pipe(res);
      res.on("close", () => answer.destroy());
    });
    req.pipe(forward);
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("tlsClientError", () => undefined);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;

  return {
    url: `https://127.0.0.1:${port}`,
    faults,
    counts,
    set(changes) {
      Object.assign(faults, changes);
      for (const stream of openWatches) drawCut(stream);
    },
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
      agent.destroy();
    },
  };
}
