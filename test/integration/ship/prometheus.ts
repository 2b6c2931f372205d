/**
 * What alerts.test.ts needs to feed scraped samples to `promtool test rules`: the Prometheus text
 * format parsed into samples, scrapes turned into input series as Prometheus would store them
 * (empty labels dropped, the target's labels added where the sample has none: honor_labels), and
 * the rules' annotations rendered the way Prometheus renders them, for the few template forms
 * the rules use.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  /** When it was taken (ms since the epoch). */
  at: number;
  /** Family name → its # TYPE (counter, gauge, histogram, …). */
  types: Map<string, string>;
  samples: Sample[];
}

const unescapeLabel = (value: string) => value.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));

/** Parses the Prometheus text exposition format (what prom-client serves). */
export function parseExposition(text: string, at = Date.now()): Scrape {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("# TYPE ")) {
      const [, , family, type] = line.split(" ");
      types.set(family as string, type as string);
      continue;
    }
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[pair[1] as string] = unescapeLabel(pair[2] as string);
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return { at, types, samples };
}

/** The family a sample belongs to: a histogram's _bucket, _sum and _count are its own. */
export function typeOf(scrape: Scrape, name: string): string | undefined {
  const family = name.replace(/_(bucket|sum|count)$/, "");
  return scrape.types.get(name) ?? scrape.types.get(family);
}

const escapeLabel = (value: string) =>
  value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** `name{a="b",…}` as promtool reads a series. */
export function seriesString(name: string, labels: Record<string, string>): string {
  const pairs = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return `${name}{${pairs.join(",")}}`;
}

/** A sample's labels as Prometheus stores them when it scrapes with honor_labels: true. */
export function stored(labels: Record<string, string>, target: Record<string, string>) {
  const kept = Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== ""));
  return { ...target, ...kept };
}

export interface InputOptions {
  /** The labels Prometheus adds to every sample of the target (job, instance, namespace, …). */
  target: Record<string, string>;
  /** Subtracted from every `*_timestamp_seconds` value: promtool's time 0 is this instant. */
  epochSeconds: number;
  /** How many more steps of `interval` the series go on after the last scrape. */
  holdSteps: number;
  include: (sample: Sample) => boolean;
}

export interface InputSeries {
  series: string;
  values: string;
}

/**
 * One promtool input series per series the scrapes hold, one value per scrape ("_" where a
 * scrape lacked it). After the last scrape a gauge holds its last value and a counter goes on
 * at the pace it kept between the scrapes.
 */
export function inputSeries(scrapes: Scrape[], options: InputOptions): InputSeries[] {
  const byKey = new Map<
    string,
    { name: string; labels: Record<string, string>; values: (number | undefined)[] }
  >();
  scrapes.forEach((scrape, i) => {
    for (const sample of scrape.samples) {
      if (!options.include(sample)) continue;
      const labels = stored(sample.labels, options.target);
      const key = seriesString(sample.name, labels);
      const entry = byKey.get(key) ?? { name: sample.name, labels, values: scrapes.map(() => undefined) };
      const shift = sample.name.endsWith("_timestamp_seconds") ? options.epochSeconds : 0;
      entry.values[i] = sample.value - shift;
      byKey.set(key, entry);
    }
  });
  const last = scrapes.at(-1) as Scrape;
  return [...byKey].map(([series, { name, values }]) => {
    const text = values.map((v) => (v === undefined ? "_" : String(v)));
    const present = values.flatMap((v, i) => (v === undefined ? [] : [[i, v] as const]));
    const [lastIndex, lastValue] = present.at(-1) as readonly [number, number];
    if (lastIndex === values.length - 1) {
      const counting = ["counter", "histogram", "summary"].includes(typeOf(last, name) ?? "");
      const [firstIndex, firstValue] = present[0] as readonly [number, number];
      const step =
        counting && lastIndex > firstIndex ? (lastValue - firstValue) / (lastIndex - firstIndex) : 0;
      text.push(`${lastValue + step}+${step}x${options.holdSteps - 1}`);
    }
    return { series, values: text.join(" ") };
  });
}

/** Prometheus's humanizeDuration for values of a second or more (the only ones the rules show). */
export function humanizeDuration(value: number): string {
  if (Math.abs(value) < 1) throw new Error(`humanizeDuration below a second is not modelled: ${value}`);
  const sign = value < 0 ? "-" : "";
  const whole = Math.trunc(Math.abs(value));
  const [s, m, h, d] = [
    whole % 60,
    Math.trunc(whole / 60) % 60,
    Math.trunc(whole / 3600) % 24,
    Math.trunc(whole / 86400),
  ];
  if (d) return `${sign}${d}d ${h}h ${m}m ${s}s`;
  if (h) return `${sign}${h}h ${m}m ${s}s`;
  if (m) return `${sign}${m}m ${s}s`;
  return `${sign}${Number(Math.abs(value).toPrecision(4))}s`;
}

/**
 * An annotation as Prometheus renders it, for `{{ $labels.x }}` and `{{ $value | humanizeDuration }}`.
 * A label the alert does not carry, or any other template, throws: a typo in the rules fails
 * the test instead of rendering empty.
 */
export function render(template: string, labels: Record<string, string>, value?: number): string {
  return template.replace(/\{\{\s*(.*?)\s*\}\}/g, (_, expr: string) => {
    const label = /^\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)$/.exec(expr);
    if (label) {
      const found = labels[label[1] as string];
      if (found === undefined) throw new Error(`the alert has no label ${label[1]}: ${template}`);
      return found;
    }
    if (/^\$value \| humanizeDuration$/.test(expr) && value !== undefined) return humanizeDuration(value);
    throw new Error(`template not modelled by the test: {{ ${expr} }}`);
  });
}
