#!/usr/bin/env node
/**
 * `kubectl rotor`: what Rotor does with a ClientCredential, and a rotation on demand (after
 * cert-manager's cmctl). One file, Node's standard library only, so it installs by copying. It
 * drives `kubectl` ($KUBECTL, else kubectl on PATH), so the user's kubeconfig, context and auth
 * plugins work as they do for kubectl. It reads the ClientCredential, pods, events and three
 * metadata fields of Rotor's Secrets (never their data), so no secret value can reach its output.
 */
import { spawnSync } from "node:child_process";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type * as T from "./types.ts";

/** Rotor's names (src/api/metadata.ts; test/unit/cli keeps the two equal). */
export const ROTATE_ANNOTATION = "rotor.dev/rotate";
export const SECRET_ID = "rotor.dev/secret-id";
export const LABEL_OWNER_UID = "rotor.dev/client-credential-uid";
export const LABEL_ROLE = "rotor.dev/role";
export const ANN_ROLLED_OUT_AT = "rotor.dev/rolled-out-at";
const RESOURCE = "clientcredentials.rotor.dev";

export const USAGE = `kubectl rotor: Rotor's ClientCredentials from the command line. Secret values are never shown.

  kubectl rotor status NAME    Ready, the current secret, the next renewal, consumers
  kubectl rotor inspect NAME   and every secret (current, superseded, what each waits for), the
                               consumers still on an old secret, conditions, recent events
  kubectl rotor rotate NAME    ask Rotor to rotate now (annotation ${ROTATE_ANNOTATION}) and say what follows

Passed to kubectl: -n/--namespace, --kubeconfig, --context.`;

/** A failure to report as it is (no stack); code 2: the command line was wrong. */
export const failure = (message: string, code = 1) =>
  Object.assign(new Error(message), { name: "Failure", code });

/** The command line, its flags as kubectl reads them (-n x, -nx, -n=x, --namespace=x); undefined: usage. */
export function parseCommandLine(args: readonly string[]): T.Options | undefined {
  const words: string[] = [];
  const kubectl: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "-h" || arg === "--help" || arg === "help") return undefined;
    if (!arg.startsWith("-")) {
      words.push(arg);
      continue;
    }
    const long = /^--(namespace|kubeconfig|context)(?:=(.*))?$/.exec(arg);
    const short = /^-n=?(.*)$/.exec(arg);
    if (!long && !short) throw failure(`unknown flag ${arg}\n\n${USAGE}`, 2);
    const value = (long ? long[2] : short?.[1] || undefined) ?? args[++i];
    if (!value) throw failure(`${arg} needs a value`, 2);
    kubectl.push(`--${long?.[1] ?? "namespace"}=${value}`);
  }
  const [command, name, ...rest] = words;
  if (command === undefined) return undefined;
  if (command !== "status" && command !== "inspect" && command !== "rotate")
    throw failure(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`, 2);
  if (name === undefined || rest.length > 0)
    throw failure(`kubectl rotor ${command} takes one ClientCredential name\n\n${USAGE}`, 2);
  return { command, name, kubectl };
}

/** Runs kubectl; its own words when it fails (NotFound, Forbidden, no context…). */
function kubectl(options: T.Options, ...args: string[]): string {
  const binary = process.env.KUBECTL || "kubectl";
  const result = spawnSync(binary, [...options.kubectl, ...args], { encoding: "utf8", maxBuffer: 1 << 28 });
  if (result.error) throw failure(`cannot run ${binary}: ${result.error.message} (set $KUBECTL)`);
  if (result.status !== 0) throw failure(result.stderr.trim() || `kubectl ${args[0]} failed`);
  return result.stdout;
}

/** Whether a pod reads the Secret (env, envFrom, secret and projected volumes), as Rotor counts it. */
export function podReferences(spec: T.PodSpec | undefined, secret: string): boolean {
  const containers = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])];
  const inEnv = (c: T.Container) =>
    c.env?.some((e) => e.valueFrom?.secretKeyRef?.name === secret) ||
    c.envFrom?.some((e) => e.secretRef?.name === secret);
  const inVolume = (v: T.Volume) =>
    v.secret?.secretName === secret || v.projected?.sources?.some((s) => s.secret?.name === secret);
  return containers.some(inEnv) || (spec?.volumes ?? []).some(inVolume);
}

/** A pod with its workload as Rotor names it (a ReplicaSet's pods belong to its Deployment). */
export function consumerOf({ metadata }: T.Pod): T.ConsumerPod {
  const { name, creationTimestamp: createdAt } = metadata;
  const owner = metadata.ownerReferences?.find((o) => o.controller);
  const hash = metadata.labels?.["pod-template-hash"];
  if (!owner) return { name, createdAt, workload: `Pod/${name}` };
  if (owner.kind === "ReplicaSet" && hash && owner.name.endsWith(`-${hash}`))
    return { name, createdAt, workload: `Deployment/${owner.name.slice(0, -hash.length - 1)}` };
  return { name, createdAt, workload: `${owner.kind}/${owner.name}` };
}

/** Control characters from the cluster (tenants write events) escaped: no terminal escape, no forged line. */
export const clean = (text: string) =>
  text.replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, (c) => `\\u{${(c.codePointAt(0) as number).toString(16)}}`);
const getJson = <J>(options: T.Options, ...args: string[]) =>
  JSON.parse(kubectl(options, ...args, "-o", "json"), (_, v) => (typeof v === "string" ? clean(v) : v)) as J;

/** What the commands show, read with kubectl (of Secrets: three metadata fields, never data). */
function gather(options: T.Options, details: boolean): T.Facts {
  const cc = getJson<T.ClientCredential>(options, "get", RESOURCE, options.name);
  const facts: T.Facts = { cc, rolledOutAt: new Map(), targetSecretId: undefined, pods: [], events: [] };
  if (!details) return facts;
  const { namespace, uid } = cc.metadata;
  const ns = `--namespace=${namespace}`;
  const k = (key: string) => key.replaceAll(".", "\\."); // jsonpath: a dot inside a key is escaped
  const where = (key: string) => (key === LABEL_ROLE ? "labels" : "annotations");
  const row = [LABEL_ROLE, SECRET_ID, ANN_ROLLED_OUT_AT].map((key) => `{.metadata.${where(key)}.${k(key)}}`);
  const jsonpath = `jsonpath={range .items[*]}{.metadata.name}{'\\t'}${row.join("{'\\t'}")}{'\\n'}{end}`;
  const secrets = kubectl(options, "get", "secrets", ns, "-l", `${LABEL_OWNER_UID}=${uid}`, "-o", jsonpath);
  for (const line of secrets.split("\n")) {
    const [name, role, id, rolledOutAt] = line.split("\t").map(clean);
    if (role === "target" && name === targetName(cc)) facts.targetSecretId = id || undefined;
    if (role === "version" && id && rolledOutAt) facts.rolledOutAt.set(id, rolledOutAt);
  }
  const target = targetName(cc);
  const pods = getJson<{ items: T.Pod[] }>(options, "get", "pods", ns).items;
  facts.pods = pods
    .filter((p) => !["Succeeded", "Failed"].includes(p.status?.phase ?? "") && podReferences(p.spec, target))
    .map(consumerOf);
  type Raw = Partial<T.Event> & { eventTime?: string; lastTimestamp?: string; metadata: T.Meta };
  const selector = `--field-selector=involvedObject.uid=${uid}`;
  const events = getJson<{ items: Raw[] }>(options, "get", "events", ns, selector);
  facts.events = events.items
    .map((e) => ({ ...e, time: e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp }))
    .sort((a, b) => Date.parse(a.time) - Date.parse(b.time))
    .slice(-10)
    .map((e) => ({ time: e.time, type: e.type ?? "", reason: e.reason ?? "", message: e.message ?? "" }));
  return facts;
}

/** `2027-01-26T10:00:00Z (in 59d 3h)`. */
export function when(iso: string | undefined, now: Date): string {
  if (!iso) return "-";
  const ms = Date.parse(iso) - now.getTime();
  let rest = Math.round(Math.abs(ms) / 1000);
  const parts: string[] = [];
  for (const [unit, size] of Object.entries({ d: 86_400, h: 3600, m: 60, s: 1 })) {
    if (rest >= size || (unit === "s" && parts.length === 0)) parts.push(`${Math.floor(rest / size)}${unit}`);
    rest %= size;
  }
  const span = parts.slice(0, 2).join(" ");
  return `${iso.replace(/\.\d+Z$/, "Z")} (${ms >= 0 ? `in ${span}` : `${span} ago`})`;
}

/** Table cells: "-" for nothing, times to the second as kubectl shows them. */
const cells = (...values: (string | undefined)[]) =>
  values.map((v) => v?.replace(/(T[\d:]+)\.\d+Z$/, "$1Z") ?? "-");

function table(rows: string[][]): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => `  ${r.map((cell, i) => cell.padEnd(widths[i] as number)).join("  ")}`;
  return rows.map((r) => line(r).trimEnd()).join("\n");
}

const conditionOf = (cc: T.ClientCredential, t: string) => cc.status?.conditions?.find((c) => c.type === t);
const targetName = (cc: T.ClientCredential) => cc.spec.secretName ?? cc.metadata.name;

/** The superseded secrets, each with what it still waits for. */
export function waiting(facts: T.Facts): T.Waiting[] {
  const superseded = (facts.cc.status?.secrets ?? []).filter((s) => s.state === "Superseded");
  const old = (switchedAt = "") =>
    facts.pods.filter((p) => Date.parse(p.createdAt) <= Date.parse(switchedAt));
  const out = facts.rolledOutAt;
  return superseded.map((e) => ({ entry: e, rolledOutAt: out.get(e.id), pods: old(e.supersededAt) }));
}

export function renderStatus(facts: T.Facts, now: Date): string {
  const { cc } = facts;
  const s = cc.status ?? {};
  const issuerRef = cc.spec.issuerRef;
  const said = (c: T.Condition | undefined) =>
    c ? `${c.status}, ${c.reason ?? ""}: ${c.message ?? ""}` : "-";
  const condition = (type: string) => said(conditionOf(cc, type));
  const superseded = waiting(facts).map(({ entry }) => entry.id);
  const pending = s.consumers?.pending ? ` (still on an old secret: ${s.consumers.pending.join(", ")})` : "";
  return [
    `ClientCredential ${cc.metadata.namespace}/${cc.metadata.name}${cc.metadata.deletionTimestamp ? " (being deleted)" : ""}`,
    table([
      ["Issuer:", issuerRef ? `${issuerRef.kind}/${issuerRef.name}` : "embedded (Rotor's token endpoint)"],
      ["Client ID:", s.clientId ?? "-"],
      ["Target Secret:", targetName(cc)],
      ["Ready:", condition("Ready")],
      ["Rotating:", condition("Rotating")],
      ["RolledOut:", condition("RolledOut")],
      ["Current secret:", s.currentSecretId ? `${s.currentSecretId}, expires ${when(s.notAfter, now)}` : "-"],
      ["Next renewal:", when(s.renewalTime, now)],
      ["Superseded:", superseded.length ? `${superseded.join(", ")} (not revoked yet)` : "none"],
      ["Slots:", s.slots ? `${s.slots.used} of ${s.slots.max} secrets at the issuer` : "-"],
      ["Consumers:", s.consumers ? `${s.consumers.summary} workloads on the current secret${pending}` : "-"],
      ["Failed attempts:", String(s.failedAttempts ?? 0)],
    ]),
  ].join("\n");
}

/** What a superseded secret waits for before Rotor revokes it. */
function waitsFor(w: T.Waiting, gracePeriod: string): string {
  if (w.rolledOutAt) return `gracePeriod ${gracePeriod} after the rollover at ${w.rolledOutAt}`;
  if (w.pods.length === 0) return "the next rollover check";
  const workloads = new Set(w.pods.map((p) => p.workload));
  return `${w.pods.length} pod(s) of ${[...workloads].join(", ")}`;
}

export function renderInspect(facts: T.Facts, now: Date): string {
  const { cc } = facts;
  const current = cc.status?.currentSecretId;
  const superseded = waiting(facts);
  const rows = [["ID", "STATE", "CREATED", "EXPIRES", "SUPERSEDED", "WAITING FOR"]];
  for (const s of [...(cc.status?.secrets ?? [])].reverse()) {
    const w = superseded.find((x) => x.entry.id === s.id);
    const waits = w ? waitsFor(w, cc.spec.gracePeriod ?? "5m") : "-";
    rows.push(cells(s.id, s.state, s.createdAt, s.notAfter, s.supersededAt, waits));
  }
  const old = new Map<string, Set<string>>();
  for (const p of superseded.flatMap((w) => w.pods))
    old.set(p.workload, (old.get(p.workload) ?? new Set()).add(p.name));
  const held = facts.targetSecretId;
  const target = held === undefined ? "is missing" : `holds ${held}${held === current ? " (current)" : ""}`;
  const conditions = (cc.status?.conditions ?? []).map((c) =>
    cells(c.type, c.status, c.reason, c.lastTransitionTime, c.message),
  );
  const events = facts.events.map((e) => cells(e.time, e.type, e.reason, e.message));
  return [
    renderStatus(facts, now),
    "",
    `Secrets (values never shown; target Secret ${targetName(cc)} ${target}):`,
    rows.length > 1 ? table(rows) : "  none yet",
    "",
    "Consumers still on an old secret (pods that read the target Secret, started before its switch):",
    old.size ? table([...old].map(([workload, pods]) => [workload, [...pods].join(", ")])) : "  none",
    "",
    `Next renewal: ${when(cc.status?.renewalTime, now)}`,
    "",
    "Conditions:",
    table([["TYPE", "STATUS", "REASON", "SINCE", "MESSAGE"], ...conditions]),
    "",
    "Recent events:",
    events.length ? table([["TIME", "TYPE", "REASON", "MESSAGE"], ...events]) : "  none",
  ].join("\n");
}

/** What Rotor does after a rotate request, by the ClientCredential's rollout strategy. */
export function rotationPlan(facts: T.Facts): string {
  const { cc } = facts;
  const strategy = cc.spec.rollout?.strategy ?? "Restart";
  const target = targetName(cc);
  const grace = `gracePeriod ${cc.spec.gracePeriod ?? "5m"}`;
  const workloads = [...new Set(facts.pods.map((p) => p.workload))].sort().join(", ") || "none yet";
  const old = cc.status?.currentSecretId ? `secret ${cc.status.currentSecretId}` : "the old secret";
  const client = cc.status?.clientId ?? "(not created yet)";
  const steps = [
    `Rotor will mint a new secret for client ${client}, verify it at the token endpoint and switch Secret ${target} to it.`,
    {
      Restart: `Then it restarts the workloads that read ${target} (${workloads}) and revokes ${old} once every pod started before the switch is gone and ${grace} has passed.`,
      Observe: `It restarts nothing (rollout.strategy Observe): ${old} is revoked once the consumers (${workloads}) rolled over on their own and ${grace} has passed.`,
      None: `It waits for no consumer (rollout.strategy None): ${old} is revoked after ${grace}.`,
    }[strategy] ?? "",
  ];
  const rotating = conditionOf(cc, "Rotating");
  if (rotating?.status === "True")
    steps.push(`A rotation is under way (${rotating.reason}); this one follows it.`);
  return steps.join("\n");
}

function rotate(options: T.Options): string {
  const facts = gather(options, true);
  const { name, namespace } = facts.cc.metadata;
  const value = new Date().toISOString();
  const annotation = `${ROTATE_ANNOTATION}=${value}`;
  kubectl(options, "annotate", RESOURCE, name, `--namespace=${namespace}`, "--overwrite", annotation);
  return [
    `Asked Rotor to rotate ClientCredential ${namespace}/${name} (${annotation}).`,
    rotationPlan(facts),
    `Follow it with: kubectl rotor inspect ${name} -n ${namespace}`,
  ].join("\n");
}

export function main(args: readonly string[]): number {
  try {
    const options = parseCommandLine(args);
    if (!options) console.log(USAGE);
    else if (options.command === "rotate") console.log(rotate(options));
    else {
      const inspect = options.command === "inspect";
      console.log((inspect ? renderInspect : renderStatus)(gather(options, inspect), new Date()));
    }
    return 0;
  } catch (error) {
    if ((error as Error).name !== "Failure") throw error;
    console.error(`kubectl rotor: ${(error as Error).message}`);
    return (error as { code: number }).code;
  }
}

// Run when executed (also through the symlink npm installs), not when a test imports it.
const entry = process.argv[1] ? realpathSync(process.argv[1]) : "";
if (import.meta.main ?? entry === fileURLToPath(import.meta.url))
  process.exitCode = main(process.argv.slice(2));
