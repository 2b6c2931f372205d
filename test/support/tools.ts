/**
 * The real tools the shipping tests run (helm, promtool, the Lua engine, kstatus), built from Go
 * modules by hack/tools/build.sh and cached by version: a cached tool returns at once.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const BUILD = fileURLToPath(new URL("../../hack/tools/build.sh", import.meta.url));

/** The path of a tool's binary, building it first if it is not cached. */
export function tool(name: string): string {
  const out = execFileSync(BUILD, [name], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return out.trim().split("\n").at(-1) as string;
}
