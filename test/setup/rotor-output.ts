/** When an integration test fails, the last lines of its Rotor's log say what Rotor was doing. */
import { afterEach } from "vitest";
import { running } from "../support/rotor.ts";

const LINES = Number(process.env.ROTOR_TEST_LOG_LINES ?? 80);

afterEach(({ task }) => {
  if (task.result?.state !== "fail") return;
  for (const rotor of running) {
    const tail = rotor.output().trimEnd().split("\n").slice(-LINES).join("\n");
    console.error(`--- the last ${LINES} lines of Rotor's log (${rotor.url}) ---\n${tail}\n---`);
  }
});
