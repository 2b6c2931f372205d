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

/** Every API request is aborted after this long, so a hung connection cannot stall a worker. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

/** Counts every API request by HTTP method (wired to a metric in main). */
let observeRequest: (method: string) => void = () => undefined;
export function onApiRequest(observer: (method: string) => void): void {
  observeRequest = observer;
}

function timeoutMiddleware(ms: number): ObservableMiddleware {
  return {
    pre: (context: RequestContext) => {
      observeRequest(context.getHttpMethod());
      context.setSignal(AbortSignal.timeout(ms));
      return new Observable(Promise.resolve(context));
    },
    post: (context: ResponseContext) => new Observable(Promise.resolve(context)),
  };
}

/** Like `kc.makeApiClient`, with a timeout on every request. */
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
      middleware: [timeoutMiddleware(timeoutMs)],
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
