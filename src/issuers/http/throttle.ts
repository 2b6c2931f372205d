/**
 * A per-issuer limit on requests in flight and per second, so that a thousand ClientCredentials
 * renewing at once queue up inside Rotor instead of hammering one tenant or server.
 *
 * The rate is guaranteed as the issuer sees it, whatever the network or event-loop delay: a
 * request reaches the issuer somewhere between its start and its end, so it holds its place in
 * the rate from its start until one second after its end. At any moment at most `perSecond`
 * requests hold a place, hence at most `perSecond` arrive within any second.
 */
import { sleep } from "../../runtime/backoff.ts";
export interface ThrottleOptions {
  maxConcurrent: number;
  perSecond: number;
}

export class Throttle {
  private readonly options: ThrottleOptions;
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  /** Until when each place in the rate is held; Infinity while its request runs. */
  private readonly held: Array<{ until: number }> = [];

  constructor(options: ThrottleOptions) {
    this.options = options;
  }

  /**
   * Runs `task` once a slot is free and the rate allows; slots are handed out in order. A
   * caller whose `signal` aborts stops waiting (rejecting with the signal's reason).
   */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquireSlot(signal);
    const place = { until: Number.POSITIVE_INFINITY };
    try {
      await this.acquirePlace(place, signal);
      return await task();
    } finally {
      place.until = Date.now() + 1000;
      this.releaseSlot();
    }
  }

  private async acquireSlot(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.inFlight < this.options.maxConcurrent && this.waiting.length === 0) {
      this.inFlight++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const handOver = () => {
        signal?.removeEventListener("abort", giveUp);
        resolve();
      };
      // Leaves the line; a slot handed over before the abort is kept (and released by run).
      const giveUp = () => {
        const index = this.waiting.indexOf(handOver);
        if (index < 0) return;
        this.waiting.splice(index, 1);
        reject(signal?.reason);
      };
      this.waiting.push(handOver);
      signal?.addEventListener("abort", giveUp, { once: true });
    });
  }

  private async acquirePlace(place: { until: number }, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = Date.now();
      for (let i = this.held.length - 1; i >= 0; i--)
        if ((this.held[i] as { until: number }).until <= now) this.held.splice(i, 1);
      if (this.held.length < this.options.perSecond) {
        this.held.push(place);
        return;
      }
      const next = Math.min(...this.held.map((h) => h.until));
      // Every place is held by a running request: look again shortly.
      await sleep(Number.isFinite(next) ? next - now : 50, signal);
    }
  }

  private releaseSlot(): void {
    const next = this.waiting.shift();
    // The slot passes straight to the next waiter: inFlight stays the same.
    if (next) next();
    else this.inFlight--;
  }
}
