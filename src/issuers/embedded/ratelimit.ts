/**
 * Limits failed authentications per client: after `maxFailures` within `windowMs`, the client
 * is refused until the window has passed, so a leaked client id cannot be used to guess secrets
 * at speed. Only clients that exist are tracked, so random ids cannot fill memory.
 */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly maxFailures: number;
  private readonly windowMs: number;

  constructor(maxFailures = 20, windowMs = 60_000) {
    this.maxFailures = maxFailures;
    this.windowMs = windowMs;
  }

  /** Seconds until the client may try again, or 0 when it may now. */
  retryAfterSeconds(clientId: string, now = Date.now()): number {
    const recent = this.recent(clientId, now);
    if (recent.length < this.maxFailures) return 0;
    return Math.max(1, Math.ceil(((recent[0] as number) + this.windowMs - now) / 1000));
  }

  fail(clientId: string, now = Date.now()): void {
    const recent = this.recent(clientId, now);
    recent.push(now);
    this.failures.set(clientId, recent);
  }

  private recent(clientId: string, now: number): number[] {
    return (this.failures.get(clientId) ?? []).filter((at) => now - at < this.windowMs);
  }
}
