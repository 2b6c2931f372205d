/**
 * Limits failed authentications at the token endpoint without letting anyone lock a client out.
 *
 * Failures are counted per (client, source address) and per client, in fixed windows:
 * - an address that failed `perAddress` times for a client is refused for that client (429,
 *   secret not checked) until its window ends: one address cannot guess at speed;
 * - once a client has `perClient` failures from all addresses together, every address that
 *   failed for it at least once in the window is refused too: many addresses get one guess each
 *   and no more;
 * - an address with no failure for the client in the window is always checked, ceiling or not.
 *   So a workload, or Rotor verifying a new secret, is never refused because someone else
 *   guessed wrong; only a source that guessed wrong itself is made to wait.
 * A success from an address clears that address's count for the client.
 *
 * Memory: only clients that exist are tracked (the caller counts no failure for an unknown id),
 * and both maps are capped: past `maxTracked` the least recently failed entries are dropped.
 * Dropping forgets, so it can only let a source be checked again, never refuse one. The secrets
 * are 32 random bytes, so the limit is about load and noise, not about guessing them; where the
 * two conflict, a correct secret wins.
 *
 * Sources behind one NAT (or a sidecar proxy) share an address and so share its count.
 */
export interface FailureLimits {
  /** Failures of one address for one client, per window, before that address is refused. */
  perAddress: number;
  /** Failures of one client from all addresses, per window, before failed addresses are refused. */
  perClient: number;
  windowMs: number;
  /** The most (client, address) pairs, and clients, kept in memory. */
  maxTracked: number;
}

export const DEFAULT_LIMITS: FailureLimits = {
  perAddress: 10,
  perClient: 100,
  windowMs: 60_000,
  maxTracked: 10_000,
};

interface Window {
  start: number;
  failures: number;
}

export type Admission = { refused: false } | { refused: true; retryAfterSeconds: number; why: string };

export class FailureLimiter {
  private readonly limits: FailureLimits;
  private readonly byAddress = new Map<string, Window>();
  private readonly byClient = new Map<string, Window>();

  constructor(limits: Partial<FailureLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Whether the secret from this address may be checked now. */
  admit(clientId: string, address: string, now = Date.now()): Admission {
    const mine = this.current(this.byAddress, pairKey(clientId, address), now);
    if (!mine) return { refused: false };
    if (mine.failures >= this.limits.perAddress)
      return { refused: true, retryAfterSeconds: this.secondsLeft(mine, now), why: "address" };
    const all = this.current(this.byClient, clientId, now);
    if (all && all.failures >= this.limits.perClient)
      return {
        refused: true,
        retryAfterSeconds: Math.min(this.secondsLeft(mine, now), this.secondsLeft(all, now)),
        why: "client",
      };
    return { refused: false };
  }

  /** Counts a wrong secret; returns what it tipped over, if anything (for a log line). */
  fail(clientId: string, address: string, now = Date.now()): "address" | "client" | undefined {
    const mine = this.count(this.byAddress, pairKey(clientId, address), now);
    const all = this.count(this.byClient, clientId, now);
    if (all === this.limits.perClient) return "client";
    if (mine === this.limits.perAddress) return "address";
    return undefined;
  }

  succeed(clientId: string, address: string): void {
    this.byAddress.delete(pairKey(clientId, address));
  }

  /** How many entries are kept (for tests of the memory bound). */
  get size(): { addresses: number; clients: number } {
    return { addresses: this.byAddress.size, clients: this.byClient.size };
  }

  private current(map: Map<string, Window>, key: string, now: number): Window | undefined {
    const window = map.get(key);
    if (window && now - window.start >= this.limits.windowMs) {
      map.delete(key);
      return undefined;
    }
    return window;
  }

  private count(map: Map<string, Window>, key: string, now: number): number {
    const window = this.current(map, key, now) ?? { start: now, failures: 0 };
    window.failures++;
    // Re-inserting moves the key to the end: the first key is always the least recently failed.
    map.delete(key);
    map.set(key, window);
    while (map.size > this.limits.maxTracked) map.delete(map.keys().next().value as string);
    return window.failures;
  }

  private secondsLeft(window: Window, now: number): number {
    return Math.max(1, Math.ceil((window.start + this.limits.windowMs - now) / 1000));
  }
}

/** The source address as a key: IPv4 clients of a dual-stack socket appear as ::ffff:a.b.c.d. */
export function sourceAddress(remoteAddress: string | undefined): string {
  if (!remoteAddress) return "unknown";
  return remoteAddress.startsWith("::ffff:") && remoteAddress.includes(".")
    ? remoteAddress.slice(7)
    : remoteAddress.toLowerCase();
}

const pairKey = (clientId: string, address: string) => `${clientId}\u0000${address}`;
