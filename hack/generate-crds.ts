/**
 * Writes crds/*.yaml from the zod schemas in src/api. With --check, writes nothing and exits 1
 * when crds/ differs from what the schemas generate (CI runs this).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { customResourceDefinitions } from "../src/api/crds.ts";

const check = process.argv.includes("--check");
const dir = join(import.meta.dirname, "..", "crds");
const header = "# Generated from src/api by `npm run generate`. Do not edit.\n";
let stale = 0;

for (const crd of customResourceDefinitions()) {
  const name = (crd.metadata as { name: string }).name;
  const file = join(dir, `${name}.yaml`);
  const text = header + stringify(crd, { lineWidth: 0 });
  let current = "";
  try {
    current = readFileSync(file, "utf8");
  } catch {}
  if (current === text) continue;
  if (check) {
    console.error(
      `crds/${name}.yaml is out of date with src/api: run \`npm run generate\` and commit the result`,
    );
    stale++;
  } else {
    writeFileSync(file, text);
    console.log(`wrote crds/${name}.yaml`);
  }
}
process.exit(stale > 0 ? 1 : 0);
