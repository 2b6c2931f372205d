/**
 * Writes crds/*.yaml from the zod schemas in src/api, and the Helm chart's copies
 * (charts/rotor/templates/crds, see hack/chart-crds.ts). With --check, writes nothing and exits 1
 * when either differs from what the schemas generate (CI runs this).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { customResourceDefinitions } from "../src/api/crds.ts";
import { CHART_CRDS_DIR, chartCrdTemplate } from "./chart-crds.ts";

const check = process.argv.includes("--check");
const root = join(import.meta.dirname, "..");
const header = "# Generated from src/api by `npm run generate`. Do not edit.\n";
let stale = 0;

for (const crd of customResourceDefinitions()) {
  const name = (crd.metadata as { name: string }).name;
  const outputs = [
    { path: join("crds", `${name}.yaml`), text: header + stringify(crd, { lineWidth: 0 }) },
    { path: join(...CHART_CRDS_DIR, `${name}.yaml`), text: chartCrdTemplate(crd, header) },
  ];
  for (const { path, text } of outputs) {
    let current = "";
    try {
      current = readFileSync(join(root, path), "utf8");
    } catch {}
    if (current === text) continue;
    if (check) {
      console.error(`${path} is out of date with src/api: run \`npm run generate\` and commit the result`);
      stale++;
    } else {
      writeFileSync(join(root, path), text);
      console.log(`wrote ${path}`);
    }
  }
}
process.exit(stale > 0 ? 1 : 0);
