/** podman as the image's smoke test drives it: the build script, and containers run with runc. */
import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { PODMAN_RUNTIME } from "./deployment.ts";

const BUILD = join(import.meta.dirname, "build.sh");

/** Runs podman (with runc) and returns its standard output; throws with its error output. */
export const podman = async (args: string[]): Promise<string> =>
  (await promisify(execFile)("podman", [...PODMAN_RUNTIME, ...args], { maxBuffer: 64 << 20 })).stdout.trim();

export const inspect = (name: string, format: string) => podman(["inspect", "--format", format, name]);

/** A container's output so far, or why it cannot be had. */
export const logs = (name: string) => podman(["logs", name]).catch((error: Error) => error.message);

/** hack/image/build.sh, as CI runs it: the image it tagged (its last line) and its summary line. */
export function buildImage(): Promise<{ image: string; summary: string }> {
  return new Promise((resolve, reject) => {
    const build = spawn(BUILD, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let output = "";
    build.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
      output += chunk;
    });
    build.stderr.on("data", (chunk: Buffer) => {
      output += chunk;
    });
    build.on("error", reject);
    build.on("close", (code) => {
      if (code !== 0)
        return reject(new Error(`hack/image/build.sh exited with ${code}:\n${output.slice(-4000)}`));
      const lines = output.trim().split("\n");
      resolve({ image: stdout.trim().split("\n").at(-1) as string, summary: lines.at(-2) ?? "" });
    });
  });
}
