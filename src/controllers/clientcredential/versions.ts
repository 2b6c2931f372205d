/** Where each version Secret stands: current, pending, superseded or abandoned. */
import type { Snapshot, Version } from "./model.ts";

export interface Classified {
  current: Version | undefined;
  /** Newer than current, persisted but not yet switched to (a crash or a failed verify). */
  pending: Version | undefined;
  /** Were current once; wait for the rollout, then are revoked. */
  superseded: Version[];
  /** Never became current and never will: nobody can hold them. */
  abandoned: Version[];
}

export function classify(versions: readonly Version[]): Classified {
  let currentIndex = -1;
  versions.forEach((v, i) => {
    if (v.activatedAt) currentIndex = i;
  });
  const current = currentIndex >= 0 ? versions[currentIndex] : undefined;
  const newer = versions.slice(currentIndex + 1);
  const pending = newer.at(-1);
  const older = versions.slice(0, Math.max(0, currentIndex));
  return {
    current,
    pending,
    superseded: older.filter((v) => v.activatedAt),
    abandoned: [...older.filter((v) => !v.activatedAt), ...newer.slice(0, -1)],
  };
}

/** The last rotor.dev/rotate value acted upon: durable on the version it produced. */
export function lastRotateRequest(snapshot: Snapshot): string | undefined {
  const fromVersions = [...snapshot.versions]
    .reverse()
    .find((v) => v.rotateRequest !== undefined)?.rotateRequest;
  return fromVersions ?? snapshot.cc.status.lastRotateRequest;
}
