/**
 * The benchmark's own Kubernetes client: one undici connection pool, reused for every request,
 * authenticated with the control plane's admin certificate. It counts what it sends the way the
 * API server's `apiserver_request_total` keys it (verb and resource), so that the bench's own
 * requests can be subtracted from the server's figures.
 */
import { readFileSync } from "node:fs";
import { Agent, request } from "undici";
import { backoffDelay, sleep } from "../../../src/runtime/backoff.ts";

export const CC_API = "/apis/rotor.dev/v1alpha1";
const RETRY = { baseMs: 200, maxMs: 5000, jitter: "spread" } as const;

export interface KubeObject {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  status?: Record<string, unknown>;
}

export class KubeError extends Error {
  readonly code: number;
  constructor(code: number, what: string, body: string) {
    super(`${what}: HTTP ${code}: ${body.slice(0, 500)}`);
    this.code = code;
  }
}

export type Patch = "merge" | "json";

export class BenchClient {
  private readonly agent: Agent;
  /** Requests sent, keyed `VERB resource[/subresource]` as the API server's metric keys them. */
  readonly sent = new Map<string, number>();

  readonly server: string;

  constructor(server: string, kubeconfig: string) {
    this.server = server;
    const config = JSON.parse(readFileSync(kubeconfig, "utf8")) as {
      clusters: Array<{ cluster: Record<string, string> }>;
      users: Array<{ user: Record<string, string> }>;
    };
    const b64 = (value: string | undefined) => Buffer.from(value ?? "", "base64");
    this.agent = new Agent({
      connect: {
        ca: b64(config.clusters[0]?.cluster["certificate-authority-data"]),
        cert: b64(config.users[0]?.user["client-certificate-data"]),
        key: b64(config.users[0]?.user["client-key-data"]),
      },
      keepAliveTimeout: 60_000,
    });
  }

  async get<T>(path: string): Promise<T> {
    return this.call<T>("GET", path);
  }
  async create<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>("POST", path, body);
  }
  async patch<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>("PATCH", path, body, "application/merge-patch+json");
  }
  async delete(path: string): Promise<void> {
    await this.call("DELETE", path);
  }

  /**
   * One request; retried when the API server refused it without acting on it (429, e.g. a CRD's
   * storage still initialising; 503 right after a start).
   */
  async call<T>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      this.count(method, path);
      const response = await request(`${this.server}${path}`, {
        method: method as "GET",
        dispatcher: this.agent,
        headers: {
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": contentType }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.body.text();
      if (response.statusCode < 300) return (text ? JSON.parse(text) : undefined) as T;
      const error = new KubeError(response.statusCode, `${method} ${path}`, text);
      if ((error.code !== 429 && error.code !== 503) || attempt >= 10) throw error;
      await sleep(backoffDelay(RETRY, attempt));
    }
  }

  /** A non-resource GET (e.g. /metrics), as text; the API server does not count these by resource. */
  async text(path: string): Promise<string> {
    const response = await request(`${this.server}${path}`, { dispatcher: this.agent });
    const text = await response.body.text();
    if (response.statusCode >= 300) throw new KubeError(response.statusCode, `GET ${path}`, text);
    return text;
  }

  /** Streams a watch; resolves when the server ends it. `onEvent` gets each event, parsed. */
  async stream(path: string, signal: AbortSignal, onEvent: (event: WatchEvent) => void): Promise<void> {
    this.count("GET", path);
    const response = await request(`${this.server}${path}`, {
      dispatcher: this.agent,
      signal,
      bodyTimeout: 0,
      headers: { accept: "application/json" },
    });
    if (response.statusCode >= 300)
      throw new KubeError(response.statusCode, `WATCH ${path}`, await response.body.text());
    let buffered = "";
    for await (const chunk of response.body) {
      buffered += (chunk as Buffer).toString("utf8");
      let newline = buffered.indexOf("\n");
      while (newline >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line) onEvent(JSON.parse(line) as WatchEvent);
        newline = buffered.indexOf("\n");
      }
    }
  }

  /** Counts a request under the key the API server would use. */
  private count(method: string, path: string): void {
    const key = requestKey(method, path);
    this.sent.set(key, (this.sent.get(key) ?? 0) + 1);
  }

  /** Closes every connection, watches included (`close` would wait for them to end). */
  async close(): Promise<void> {
    await this.agent.destroy();
  }
}

export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: KubeObject & { code?: number };
}

/** `VERB resource[/subresource]` of a request path, as kube-apiserver's request metrics name it. */
export function requestKey(method: string, path: string): string {
  const url = new URL(path, "https://x");
  const parts = url.pathname.split("/").filter(Boolean);
  // /api/v1/... or /apis/group/version/...
  let rest = parts[0] === "api" ? parts.slice(2) : parts.slice(3);
  if (rest[0] === "namespaces" && rest.length > 2) rest = rest.slice(2);
  const [resource = "", name, subresource] = rest;
  let verb = method;
  if (method === "GET" && url.searchParams.get("watch")) verb = "WATCH";
  else if (method === "GET" && name === undefined) verb = "LIST";
  else if (method === "DELETE" && name === undefined) verb = "DELETECOLLECTION";
  return subresource ? `${verb} ${resource}/${subresource}` : `${verb} ${resource}`;
}

/** Runs `work(i)` for i in [0, count) with at most `concurrency` in flight. */
export async function forEachConcurrently(
  count: number,
  concurrency: number,
  work: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
