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
    help: "Requests Rotor made to the Kubernetes API (watches excluded), by method.",
    labelNames: ["method"],
    registers: [registry],
  });
  onApiRequest((method, url) => {
    requests.inc({ method });
    if (method !== "GET") log.debug({ method, path: new URL(url).pathname }, "kube write");
  });
}

type Dispatcher = NonNullable<ReturnType<RequestContext["getDispatcher"]>>;
type Dispatch = Dispatcher["dispatch"];

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
function requestMiddleware(ms: number): ObservableMiddleware {
  return {
    pre: (context: RequestContext) => {
      const scope = currentScope();
      const method = context.getHttpMethod();
      const url = context.getUrl();
      throwIfCancelled(scope);
      const timeout = AbortSignal.timeout(ms);
      context.setSignal(scope ? AbortSignal.any([timeout, scope.signal]) : timeout);
      const dispatcher = context.getDispatcher();
      if (dispatcher) context.setDispatcher(dispatcher.compose(checkBeforeWrite(scope, method, url)));
      else observeRequest(method, url);
      return new Observable(Promise.resolve(context));
    },
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
      middleware: [requestMiddleware(timeoutMs)],
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
