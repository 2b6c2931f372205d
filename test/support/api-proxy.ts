/**
 * A slow, lossy API server for fault tests: a loopback HTTPS proxy in front of the local control
 * plane's kube-apiserver that Rotor is pointed at instead. It serves the API server's own
 * certificate (valid for 127.0.0.1, trusted by the kubeconfig's CA), so Rotor's kubeconfig only
 * changes its server URL, and forwards every request as it came (method, path, query, headers
 * with the bearer token, body). Answers stream back as they arrive: a watch is one long response.
 *
 * The faults, changeable at run time with `set()`: latency added to every request; a share of
 * requests dropped before the API server sees them (the connection reset, or held unanswered
 * until the client gives up); a share refused with 429 or 503 as an overloaded API server
 * refuses them; a share whose answer is dropped after the API server acted on them (the client
 * cannot tell whether its write happened); the chunks of watch streams delayed, a share of watch
 * streams cut in the middle, a share of watch requests held unanswered. `counts` says what it
 * did, so a test can check that the faults really happened.
 */
import { readFileSync } from "node:fs";
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { Agent, createServer, request as httpsRequest } from "node:https";
import type { Socket } from "node:net";
import { join } from "node:path";
import { Transform } from "node:stream";
import { loadState } from "../../hack/controlplane/components.ts";
import { sleep } from "../../src/runtime/backoff.ts";

export interface Faults {
  /** Added to every request before it is forwarded (or refused, or dropped). */
  latencyMs: number;
  /** Plus a uniformly random share of this. */
  jitterMs: number;
  /** Requests whose connection is reset without an answer (never forwarded). */
  resetShare: number;
  /** Requests other than watches held without an answer until the client gives up (never forwarded). */
  hangShare: number;
  /** Requests answered 429 (TooManyRequests, Retry-After: 1) or 503 (ServiceUnavailable), half each. */
  refuseShare: number;
  /** Requests other than watches forwarded, then their connection reset instead of the answer. */
  dropAnswerShare: number;
  /** Each chunk of a watch stream waits up to this long (uniformly random) before it is passed on. */
  watchChunkDelayMs: number;
  /**
   * Each open watch stream draws its fate once in every `watchCutPeriodMs` (at a random moment):
   * with this probability, its connection is destroyed there, mid-stream.
   */
  watchCutShare: number;
  watchCutPeriodMs: number;
  /** Watch requests held without an answer (not even headers) until the client gives up. */
  watchHangShare: number;
}

export const NO_FAULTS: Faults = {
  latencyMs: 0,
  jitterMs: 0,
  resetShare: 0,
  hangShare: 0,
  refuseShare: 0,
  dropAnswerShare: 0,
  watchChunkDelayMs: 0,
  watchCutShare: 0,
  watchCutPeriodMs: 0,
  watchHangShare: 0,
};

export interface ProxyCounts {
  requests: number;
  watches: number;
  delayed: number;
  reset: number;
  /** Requests held unanswered (watches included). */
  hung: number;
  watchesHung: number;
  refused429: number;
  refused503: number;
  forwarded: number;
  /** Answers dropped on purpose after the API server acted (`dropAnswerShare`). */
  answersDropped: number;
  /** Forwarded requests (not watches) whose client gave up before the answer came. */
  answersAbandoned: number;
  /** The writes among those two, as `METHOD path`: applied, but the client never heard. */
  unansweredWrites: string[];
  watchChunksDelayed: number;
  watchesCut: number;
  /** Requests the API server itself could not be reached for. */
  upstreamErrors: number;
}

export interface ApiProxy {
  /** `https://127.0.0.1:<port>`: the server URL for a kubeconfig. */
  readonly url: string;
  readonly faults: Faults;
  readonly counts: ProxyCounts;
  /** Watch streams open now (answered and not cut). */
  readonly watching: number;
  /**
   * The next request that `matches` meets `fault`, whatever the shares say (its latency still
   * applies). Resolves with `METHOD path`, and the API server's status for a dropped answer.
   */
  next(matches: (method: string, url: URL) => boolean, fault: TargetedFault): Promise<string>;
  /**
   * Changes some faults from now on: for the requests that arrive, for the watch streams already
   * open (the delay of their next chunks, their cuts), and for the requests held unanswered
   * (reset once their kind of hang is off).
   */
  set(faults: Partial<Faults>): void;
  close(): Promise<void>;
}

/** A fault for one chosen request: reset, held, or answered by the API server and the answer dropped. */
export type TargetedFault = "reset" | "hang" | "dropAnswer";

interface Rule {
  matches: (method: string, url: URL) => boolean;
  fault: TargetedFault;
  happened: (what: string) => void;
}

interface OpenWatch {
  res: ServerResponse;
  /** When it draws its fate next. */
  draw?: NodeJS.Timeout;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
]);

const endToEnd = (headers: IncomingHttpHeaders): OutgoingHttpHeaders =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));

const isWatch = (url: URL) =>
  ["1", "true"].includes(url.searchParams.get("watch") ?? "") || url.pathname.includes("/watch/");

const chance = (share: number) => share > 0 && Math.random() < share;

type Fate = TargetedFault | "refuse" | "forward";

const drawFate = (f: Faults, watch: boolean): Fate => {
  if (chance(f.resetShare)) return "reset";
  if (chance(watch ? f.watchHangShare : f.hangShare)) return "hang";
  if (chance(f.refuseShare)) return "refuse";
  if (!watch && chance(f.dropAnswerShare)) return "dropAnswer";
  return "forward";
};

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

/** Starts the proxy in front of the API server of the local control plane in `dir`. */
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
    watchesHung: 0,
    refused429: 0,
    refused503: 0,
    forwarded: 0,
    answersDropped: 0,
    answersAbandoned: 0,
    unansweredWrites: [],
    watchChunksDelayed: 0,
    watchesCut: 0,
    upstreamErrors: 0,
  };
  const sockets = new Set<Socket>();
  const openWatches = new Set<OpenWatch>();
  const held = new Set<{ watch: boolean; socket: Socket }>();
  const rules: Rule[] = [];

  /** Schedules the next draw of a watch stream's fate, while watches are being cut. */
  const drawCut = (stream: OpenWatch) => {
    if (stream.draw || faults.watchCutShare <= 0) return;
    stream.draw = setTimeout(() => {
      stream.draw = undefined;
      if (!chance(faults.watchCutShare)) return drawCut(stream);
      counts.watchesCut++;
      stream.res.destroy();
    }, Math.random() * faults.watchCutPeriodMs);
  };

  /** Passes a watch stream on chunk by chunk, each delayed as the faults say now. */
  const streamWatch = (answer: IncomingMessage, res: ServerResponse) => {
    const stream: OpenWatch = { res };
    openWatches.add(stream);
    res.on("close", () => {
      clearTimeout(stream.draw);
      openWatches.delete(stream);
      answer.destroy();
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
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    counts.requests++;
    const url = new URL(req.url ?? "/", upstream);
    const watch = isWatch(url);
    const write = req.method !== "GET";
    if (watch) counts.watches++;
    // A request's fate is drawn from the faults as they are when it arrives.
    const f = { ...faults };
    const delay = f.latencyMs + Math.random() * f.jitterMs;
    if (delay > 0) {
      counts.delayed++;
      await sleep(delay);
      if (req.socket.destroyed) return; // the client gave up meanwhile
    }
    const rule = rules.find((r) => r.matches(req.method ?? "", url));
    if (rule) rules.splice(rules.indexOf(rule), 1);
    const fate = rule?.fault ?? drawFate(f, watch);
    const what = `${req.method} ${url.pathname}`;
    if (fate === "reset") {
      counts.reset++;
      rule?.happened(what);
      req.socket.destroy();
      return;
    }
    if (fate === "hang") {
      // Never answered: the client's own timeout ends it, or the end of this fault.
      counts.hung++;
      if (watch) counts.watchesHung++;
      rule?.happened(what);
      const hold = { watch, socket: req.socket };
      held.add(hold);
      req.socket.on("close", () => held.delete(hold));
      return;
    }
    if (fate === "refuse") {
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
    let settled = false; // answered, or its loss already counted
    res.on("close", () => {
      if (res.writableFinished || settled) return;
      settled = true;
      forward.destroy();
      if (watch) return;
      counts.answersAbandoned++;
      if (write) counts.unansweredWrites.push(what);
    });
    forward.on("error", () => {
      if (settled) return;
      counts.upstreamErrors++;
      res.destroy();
    });
    forward.on("response", (answer) => {
      answer.on("error", () => res.destroy());
      if (fate === "dropAnswer") {
        settled = true;
        counts.answersDropped++;
        if (write) counts.unansweredWrites.push(what);
        rule?.happened(`${what} → ${answer.statusCode}`);
        answer.resume();
        req.socket.destroy();
        return;
      }
      res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
      if (watch) streamWatch(answer, res);
      else answer.pipe(res);
    });
    req.pipe(forward);
  };

  const server = createServer({ cert: pki("apiserver.crt"), key: pki("apiserver.key") }, handle);
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
    get watching() {
      return openWatches.size;
    },
    next(matches, fault) {
      return new Promise((happened) => rules.push({ matches, fault, happened }));
    },
    set(changes) {
      Object.assign(faults, changes);
      for (const stream of openWatches) {
        clearTimeout(stream.draw);
        stream.draw = undefined;
        drawCut(stream);
      }
      for (const hold of held)
        if ((hold.watch ? faults.watchHangShare : faults.hangShare) <= 0) hold.socket.destroy();
    },
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
      agent.destroy();
    },
  };
}
