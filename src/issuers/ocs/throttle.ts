/**
 * A per-issuer limit on requests in flight and per second, so that a thousand ClientCredentials
 * renewing at once queue up inside Rotor instead of hammering one tenant.
 */
export interface ThrottleOptions {
  maxConcurrent: number;
  perSecond: number;
}

export class Throttle {
  private readonly options: ThrottleOptions;
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  /** Start times of the last second's requests (a sliding window). */
  private readonly starts: number[] = [];

  constructor(options: ThrottleOptions) {
    this.options = options;
  }

  /** Runs `task` once a slot is free and the rate allows; slots are handed out in order. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private async acquire(): Promise<void> {
    if (this.inFlight >= this.options.maxConcurrent || this.waiting.length > 0) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.inFlight++;
    }
    for (;;) {
      const now = Date.now();
      while (this.starts.length > 0 && (this.starts[0] as number) <= now - 1000) this.starts.shift();
      if (this.starts.length < this.options.perSecond) {
        this.starts.push(now);
        return;
      }
      await sleep((this.starts[0] as number) + 1000 - now);
    }
  }

  private release(): void {
    const next = this.waiting.shift();
    // The slot passes straight to the next waiter: inFlight stays the same.
    if (next) next();
    else this.inFlight--;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
