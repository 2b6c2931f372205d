/**
 * Process-level safety nets. A promise nobody awaited that rejects, or an exception thrown from
 * a callback outside any try, would otherwise end the process: one malformed request or one
 * unlucky timing would restart every replica at once. Rotor logs them through the logger and
 * carries on (its work is level-based: the next reconcile repairs what one failed step left);
 * it exits only where it decides to (flag errors, lost leadership, a fatal informer, shutdown).
 */
import { describeError, type Logger } from "./log.ts";

export type ProcessFault = "unhandledRejection" | "uncaughtException";

/** Installs the handlers once; `onFault` counts them (e.g. a metric). */
export function installProcessHandlers(log: Logger, onFault?: (fault: ProcessFault) => void): void {
  if (installed) return;
  installed = true;
  process.on("unhandledRejection", (reason) => {
    onFault?.("unhandledRejection");
    log.error({ error: describeError(reason), stack: stackOf(reason) }, "unhandled promise rejection");
  });
  process.on("uncaughtException", (error, origin) => {
    onFault?.("uncaughtException");
    log.error({ error: describeError(error), origin, stack: stackOf(error) }, "uncaught exception");
  });
}

let installed = false;

/** The frames only (file:line), never the message again: it may quote a value. */
function stackOf(error: unknown): string | undefined {
  if (!(error instanceof Error) || !error.stack) return undefined;
  return error.stack
    .split("\n")
    .filter((line) => line.trimStart().startsWith("at "))
    .slice(0, 8)
    .map((line) => line.trim())
    .join(" | ");
}
