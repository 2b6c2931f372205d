/** Kubernetes client setup: one place for configuration, timeouts and error classification. */
import {
  ApiException,
  type Configuration,
  type ConfigurationOptions,
  createConfiguration,
  KubeConfig,
  Observable,
  type ObservableMiddleware,
  PatchStrategy,
  type RequestContext,
  type ResponseContext,
  ServerConfiguration,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { Counter, type Registry } from "prom-client";
import { Agent } from "undici";
import type { Logger } from "./log.ts";
import { currentScope, throwIfCancelled, type WorkScope } from "./scope.ts";

/** Every API request is aborted after this long, so a hung connection cannot stall a worker. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

/**
 * One connection pool per kubeconfig. client-node builds a new undici Agent — a new TLS
 * connection — for every request; at thousands of requests that is most of Rotor's CPU, memory
 * and open descriptors, and work for the API server too. Every client and every watch of Rotor
 * shares this one instead. Proxied clusters keep client-node's own dispatcher.
 */
const pools = new WeakMap<KubeConfig, Promise<RequestDispatcher | undefined>>();

export function connectionPool(kc: KubeConfig): Promise<RequestDispatcher | undefined> {
  let pool = pools.get(kc);
  if (!pool) {
    pool = buildPool(kc);
    pools.set(kc, pool);
  }
  return pool;
}

async function buildPool(kc: KubeConfig): Promise<RequestDispatcher | undefined> {
  const options: Parameters<KubeConfig["applyToHTTPSOptions"]>[0] & Record<string, unknown> = {};
  await kc.applyToHTTPSOptions(options);
  const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = options as Record<string, never>;
  const plan = kc.createDispatcherOptions(kc.getCurrentCluster(), {
    ca,
    cert,
    key,
    pfx,
    passphrase,
    ...(rejectUnauthorized !== undefined ? { rejectUnauthorized } : {}),
    ...(servername !== undefined ? { servername } : {}),
  });
  // client-node types requests with its own copy of undici's types: the same classes.
  // An HTTP/2 connection that goes silent (the API server frozen, a peer gone without a reset)
  // is dropped after one unanswered PING, as client-go's health check does: otherwise every
  // request and watch multiplexed on it would wait for TCP to notice, for many minutes.
  return plan.type === "agent"
    ? (new Agent({
        connect: plan.connect,
        h2Options: { pingInterval: 15_000 },
      }) as unknown as RequestDispatcher)
    : undefined;
}

/** Sees every API request as it is written to the socket (wired to a metric and a debug log in main). */
export type ApiRequestObserver = (method: string, url: string) => void;
let observeRequest: ApiRequestObserver = () => undefined;
function onApiRequest(observer: ApiRequestObserver): void {
  observeRequest = observer;
}

/**
 * Counts every request Rotor makes to the API server by method (`rotor_kube_api_requests_total`;
 * watches excluded), and logs every write at debug level with its path: which replica wrote
 * what, and when.
 */
export function instrumentApiRequests(registry: Registry, log: Logger): void {
  const requests = new Counter({
    name: "rotor_kube_api_requests_total",
    help: "Requests Rotor made to the Kubernetes API, by method and resource (a watch counts once, when it starts).",
    labelNames: ["method", "resource"],
    registers: [registry],
  });
  onApiRequest((method, url) => {
    const path = new URL(url).pathname;
    requests.inc({ method, resource: resourceOf(path) });
    if (method !== "GET") log.debug({ method, path }, "kube write");
  });
}

/**
 * `secrets`, `clientcredentials/status`, `leases`…: the resource (and subresource) of an API
 * path. Rotor's own code chooses the paths, so the label's values are few.
 */
export function resourceOf(path: string): string {
  const parts = path.split("/").filter(Boolean);
  let rest = parts[0] === "api" ? parts.slice(2) : parts.slice(3);
  if (rest[0] === "namespaces" && rest.length > 2) rest = rest.slice(2);
  return rest[2] ? `${rest[0]}/${rest[2]}` : (rest[0] ?? "");
}

/** Counts one request (a watch, say) that does not go through a client-node API client. */
export const countApiRequest = (method: string, url: string): void => observeRequest(method, url);

type RequestDispatcher = NonNullable<ReturnType<RequestContext["getDispatcher"]>>;
type Dispatch = RequestDispatcher["dispatch"];

/**
 * Checks the work scope once more at the last moment — when undici is about to write the
 * request to the socket, after any connection set-up — and refuses to send a request whose work
 * was cancelled meanwhile (its leadership ended while the process was frozen, say).
 */
function checkBeforeWrite(scope: WorkScope | undefined, method: string, url: string) {
  return (dispatch: Dispatch): Dispatch =>
    (options, handler) =>
      dispatch(
        options,
        new Proxy(handler, {
          get(target, property, receiver) {
            if (property !== "onRequestStart") return Reflect.get(target, property, receiver);
            return (controller: { abort(reason: Error): void }, context: unknown) => {
              try {
                throwIfCancelled(scope);
              } catch (reason) {
                controller.abort(reason as Error);
                return;
              }
              observeRequest(method, url);
              return target.onRequestStart?.(controller as never, context);
            };
          },
        }),
      );
}

/**
 * Every request gets a timeout, so a hung connection cannot stall a worker. A request made for
 * some work (a reconcile) is refused when that work was cancelled, and aborted in flight when it
 * is cancelled later.
 */
function requestMiddleware(kc: KubeConfig, ms: number): ObservableMiddleware {
  const prepare = async (context: RequestContext) => {
    const scope = currentScope();
    const method = context.getHttpMethod();
    const url = context.getUrl();
    throwIfCancelled(scope);
    const timeout = AbortSignal.timeout(ms);
    context.setSignal(scope ? AbortSignal.any([timeout, scope.signal]) : timeout);
    const dispatcher = (await connectionPool(kc)) ?? context.getDispatcher();
    if (dispatcher) context.setDispatcher(dispatcher.compose(checkBeforeWrite(scope, method, url)));
    else observeRequest(method, url);
    return context;
  };
  return {
    pre: (context: RequestContext) => new Observable(prepare(context)),
    post: (context: ResponseContext) => new Observable(Promise.resolve(context)),
  };
}

/** Like `kc.makeApiClient`, with a timeout on every request and the checks of `requestMiddleware`. */
export function makeClient<T>(
  kc: KubeConfig,
  api: new (config: Configuration) => T,
  timeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
): T {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster");
  return new api(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kc },
      middleware: [requestMiddleware(kc, timeoutMs)],
    }),
  );
}

export const FIELD_MANAGER = "rotor";

/** Options for a server-side apply PATCH with Rotor's field manager. */
export const serverSideApply: ConfigurationOptions<ObservableMiddleware> = setHeaderOptions(
  "Content-Type",
  PatchStrategy.ServerSideApply,
);
export const mergePatch: ConfigurationOptions<ObservableMiddleware> = setHeaderOptions(
  "Content-Type",
  PatchStrategy.MergePatch,
);

export const isStatus = (error: unknown, code: number) =>
  error instanceof ApiException && error.code === code;
export const isNotFound = (error: unknown) => isStatus(error, 404);
export const isConflict = (error: unknown) => isStatus(error, 409);

const NETWORK_CODES =
  /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|UND_ERR_)/;

/**
 * Whether an error says the API server could not answer now — no connection, a timeout, 429 or
 * a 5xx — rather than that it refused the request: waiting may help the first, never the second.
 */
export function isUnavailable(error: unknown): boolean {
  for (
    let e = error as { name?: unknown; message?: unknown; code?: unknown; cause?: unknown } | undefined;
    e;
  ) {
    // An HTTP status (ApiException, StatusError); a DOMException's small numeric code is not one.
    if (typeof e.code === "number" && e.code >= 100) return e.code === 429 || e.code >= 500;
    if (e.name === "AbortError" || e.name === "TimeoutError" || e.message === "fetch failed") return true;
    if (typeof e.code === "string" && NETWORK_CODES.test(e.code)) return true;
    e = typeof e.cause === "object" && e.cause !== null ? (e.cause as typeof e) : undefined;
  }
  return false;
}
