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
