/**
 * The HTTP side of an informer: a GET of a collection — a LIST page or a watch — with Rotor's
 * credentials over its one connection pool, and the watch's stream of events, one JSON object
 * per line.
 */
import { type KubeConfig, type KubernetesObject, RequestContext } from "@kubernetes/client-node";
import { type Dispatcher, fetch } from "undici";
import { connectionPool, countApiRequest } from "./kube.ts";

export class Gone extends Error {
  override name = "Gone";
}

export class StatusError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

export interface WatchEvent {
  type: string;
  object: KubernetesObject & { code?: number; message?: string };
}

/** A GET of a collection (a LIST page or a watch) with Rotor's credentials over the shared pool; a non-2xx answer throws. */
export async function openCollection(
  kc: KubeConfig,
  path: string,
  query: URLSearchParams,
  signal: AbortSignal,
) {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error("the kubeconfig has no current cluster");
  const url = `${server.replace(/\/$/, "")}${path}?${query}`;
  const context = new RequestContext(url, "GET" as never);
  await kc.applySecurityAuthentication(context);
  const dispatcher = ((await connectionPool(kc)) ?? context.getDispatcher()) as Dispatcher | undefined;
  countApiRequest("GET", url);
  const response = await fetch(url, {
    headers: { ...context.getHeaders(), Accept: "application/json" },
    signal,
    ...(dispatcher ? { dispatcher } : {}),
  });
  if (response.status === 410) throw new Gone("resourceVersion too old");
  if (!response.ok) {
    const body = await response.text().catch(() => "");
    let message = body.slice(0, 300);
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? message;
    } catch {}
    throw new StatusError(response.status, `${response.status} from GET ${path}: ${message}`);
  }
  return response;
}

const PAGE_SIZE = 500;
const PAGE_TIMEOUT_MS = 60_000;

/** A paged LIST: yields each page's items; returns the list's resourceVersion. */
export async function* listCollection(
  kc: KubeConfig,
  path: string,
  labelSelector: string | undefined,
  signal: AbortSignal,
): AsyncGenerator<KubernetesObject[], string> {
  let next: string | undefined;
  let resourceVersion = "";
  do {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (labelSelector) query.set("labelSelector", labelSelector);
    if (next) query.set("continue", next);
    const timeout = AbortSignal.any([signal, AbortSignal.timeout(PAGE_TIMEOUT_MS)]);
    const page = (await (await openCollection(kc, path, query, timeout)).json()) as {
      metadata?: { resourceVersion?: string; continue?: string };
      items?: KubernetesObject[];
    };
    yield page.items ?? [];
    resourceVersion = page.metadata?.resourceVersion ?? "";
    next = page.metadata?.continue || undefined;
  } while (next);
  return resourceVersion;
}

/** The events of a watch response, as they arrive. */
export async function* watchEvents(
  response: Awaited<ReturnType<typeof openCollection>>,
): AsyncGenerator<WatchEvent> {
  if (!response.body) return;
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of response.body) {
    const lines = (buffered + decoder.decode(chunk as Uint8Array, { stream: true })).split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) yield JSON.parse(line) as WatchEvent;
  }
}

export class WatchStalled extends Error {
  override name = "WatchStalled";
}

/** How long a watch may go without an answer, and an answered one without an event or bookmark. */
export const WATCH_STALL = { answerMs: 30_000, idleMs: 180_000 };

/** The server ends a watch after 5–10 minutes (as client-go asks); it is resumed at once. */
const watchSeconds = () => 300 + Math.floor(Math.random() * 300);

/**
 * A watch's events from `resourceVersion`; an ERROR event throws (Gone for 410). It ends with
 * WatchStalled when its answer does not come within `answerMs`, or nothing (not even a
 * bookmark, which the API server sends about every minute) comes for `idleMs`: a request held by
 * a proxy, a hung server or a connection dropped in silence must not hold a cache for minutes.
 * `onOpen` runs once the answer came.
 */
export async function* watchCollection(
  kc: KubeConfig,
  path: string,
  from: { labelSelector: string | undefined; resourceVersion: string },
  signal: AbortSignal,
  onOpen: () => void,
  stall = WATCH_STALL,
): AsyncGenerator<WatchEvent> {
  const query = new URLSearchParams({
    watch: "1",
    allowWatchBookmarks: "true",
    resourceVersion: from.resourceVersion,
    timeoutSeconds: String(watchSeconds()),
  });
  if (from.labelSelector) query.set("labelSelector", from.labelSelector);
  const stalled = new AbortController();
  const stallAfter = (ms: number, why: string) => {
    const timer = setTimeout(() => stalled.abort(new WatchStalled(why)), ms);
    timer.unref();
    return timer;
  };
  const answer = stallAfter(stall.answerMs, `no answer to the watch in ${stall.answerMs / 1000}s`);
  let idle: NodeJS.Timeout | undefined;
  try {
    const response = await openCollection(kc, path, query, AbortSignal.any([signal, stalled.signal]));
    clearTimeout(answer);
    onOpen();
    idle = stallAfter(stall.idleMs, `no event on the watch for ${stall.idleMs / 1000}s`);
    for await (const event of watchEvents(response)) {
      idle.refresh(); // re-armed by every event: only the timer moves
      const { type, object } = event;
      if (type === "ERROR" && object.code === 410)
        throw new Gone(object.message ?? "resourceVersion too old");
      if (type === "ERROR") throw new StatusError(object.code ?? 500, object.message ?? "watch error");
      yield event;
    }
  } catch (error) {
    if (stalled.signal.aborted && !signal.aborted) throw stalled.signal.reason;
    throw error;
  } finally {
    clearTimeout(answer);
    clearTimeout(idle);
  }
}
