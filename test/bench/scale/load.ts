/**
 * The load a phase puts on the API server: its requests by verb and resource (from its own
 * `apiserver_request_total`, less the bench's own requests and the background the control plane
 * makes by itself) and its CPU time. Also Rotor's own count of its requests.
 */
import type { BenchClient } from "./kube.ts";
import { cpuSeconds, diff, parseMetrics, sumBy } from "./probe.ts";

/** The API server's requests so far, keyed `VERB resource[/subresource]`; watches and non-resource paths left out. */
export async function apiserverRequests(client: BenchClient): Promise<Map<string, number>> {
  return sumBy(parseMetrics(await client.text("/metrics")), "apiserver_request_total", (labels) => {
    if (!labels.resource || labels.verb === "WATCH" || labels.verb === "CONNECT") return undefined;
    return `${labels.verb} ${labels.resource}${labels.subresource ? `/${labels.subresource}` : ""}`;
  });
}

/** Rotor's `rotor_kube_api_requests_total`, keyed `METHOD` or `METHOD resource` once it has that label. */
export async function rotorRequests(metricsUrl: string): Promise<Map<string, number>> {
  return sumBy(await rotorMetrics(metricsUrl), "rotor_kube_api_requests_total", (labels) =>
    labels.resource ? `${labels.method} ${labels.resource}` : (labels.method ?? "?"),
  );
}

export async function rotorMetrics(metricsUrl: string) {
  return parseMetrics(await (await fetch(`${metricsUrl}/metrics`)).text());
}

export interface Window {
  started: number;
  apiserverCpu: number;
  requests: Map<string, number>;
  sent: Map<string, number>;
}

export interface Load {
  seconds: number;
  apiserverCpu: number;
  /** Requests the API server served for whatever the phase measures: bench and background subtracted. */
  requests: Map<string, number>;
  /** Everything the API server served but the background, the bench's own requests included. */
  served: Map<string, number>;
}

export class ApiServerLoad {
  /** Requests per second the control plane makes by itself (node heartbeats, controllers). */
  private background = new Map<string, number>();

  private readonly client: BenchClient;
  private readonly apiserverPid: number;

  constructor(client: BenchClient, apiserverPid: number) {
    this.client = client;
    this.apiserverPid = apiserverPid;
  }

  async open(): Promise<Window> {
    return {
      started: Date.now(),
      apiserverCpu: cpuSeconds(this.apiserverPid),
      requests: await apiserverRequests(this.client),
      sent: new Map(this.client.sent),
    };
  }

  /** The API server's CPU and requests since `window` was opened. */
  async close(window: Window, subtractBackground = true): Promise<Load> {
    const seconds = (Date.now() - window.started) / 1000;
    const apiserverCpu = cpuSeconds(this.apiserverPid) - window.apiserverCpu;
    const served = diff(await apiserverRequests(this.client), window.requests);
    const own = diff(this.client.sent, window.sent);
    const requests = new Map<string, number>();
    const servedButBackground = new Map<string, number>();
    for (const [key, count] of served) {
      const background = subtractBackground ? (this.background.get(key) ?? 0) * seconds : 0;
      const left = Math.round(count - (own.get(key) ?? 0) - background);
      if (left > 0) requests.set(key, left);
      if (Math.round(count - background) > 0) servedButBackground.set(key, Math.round(count - background));
    }
    return { seconds, apiserverCpu, requests, served: servedButBackground };
  }

  /** Measures the background over `ms` of quiet; later windows subtract it. */
  async measureBackground(ms: number): Promise<Map<string, number>> {
    const window = await this.open();
    await new Promise((resolve) => setTimeout(resolve, ms));
    const load = await this.close(window, false);
    this.background = new Map([...load.requests].map(([key, count]) => [key, count / load.seconds]));
    return this.background;
  }
}
