/** Certificates from files: a usable pair is taken, anything else keeps the certificate held. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { issueServing, type KeyPair, makeCa } from "../../../src/issuers/embedded/certificates.ts";
import {
  bundleProblem,
  CertificateFiles,
  pairProblem,
  type ServingCertificate,
} from "../../../src/runtime/tls.ts";

let ca: KeyPair;
let a: KeyPair;
let b: KeyPair;

beforeAll(async () => {
  const now = new Date();
  ca = await makeCa(now, 3600_000);
  a = await issueServing(ca, ["localhost"], now, new Date(Date.now() + 600_000));
  b = await issueServing(ca, ["localhost"], now, new Date(Date.now() + 600_000));
});

describe("pairProblem", () => {
  it("accepts a certificate with its own key", () => {
    expect(pairProblem(a.cert, a.key)).toBeUndefined();
  });
  it.each([
    ["a key of another certificate", () => [a.cert, b.key], "the key does not belong to the certificate"],
    [
      "a certificate that is not PEM",
      () => ["junk", a.key],
      "the certificate is not a PEM X.509 certificate",
    ],
    ["a key that is not PEM", () => [a.cert, "junk"], "the key is not a PEM private key"],
    ["empty files", () => ["", ""], "the certificate is not a PEM X.509 certificate"],
  ])("refuses %s", (_, pair, problem) => {
    const [cert, key] = pair() as [string, string];
    expect(pairProblem(cert, key)).toBe(problem);
  });
  it("checks a CA bundle", () => {
    expect(bundleProblem(`${ca.cert}\n${ca.cert}`)).toBeUndefined();
    expect(bundleProblem("junk")).toBe("holds no PEM certificate");
  });
});

describe("CertificateFiles", () => {
  it("switches to a new usable pair, and keeps the held one when the files are unusable", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rotor-tls-unit-"));
    const put = (pair: { cert: string; key: string }) => {
      writeFileSync(join(dir, "tls.crt"), pair.cert);
      writeFileSync(join(dir, "tls.key"), pair.key);
    };
    put(a);
    writeFileSync(join(dir, "ca.crt"), ca.cert);
    const files = new CertificateFiles({
      certFile: join(dir, "tls.crt"),
      keyFile: join(dir, "tls.key"),
      caFile: join(dir, "ca.crt"),
      refreshMs: 3600_000,
      log: pino({ level: "silent" }),
    });
    await files.start();
    const seen: ServingCertificate[] = [];
    files.onChange((certificate) => seen.push(certificate));
    expect(files.current()).toEqual(a);
    expect(files.caBundle()).toBe(ca.cert);

    put({ cert: b.cert, key: a.key });
    await files.refresh();
    expect(files.current()).toEqual(a);
    expect(seen).toEqual([]);

    put(b);
    await files.refresh();
    expect(files.current()).toEqual(b);
    expect(seen).toEqual([b]);

    await files.refresh(); // unchanged content: no second notice
    expect(seen).toEqual([b]);
    files.stop();
  });

  it("refuses to start on an unusable pair, saying why", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rotor-tls-unit-"));
    writeFileSync(join(dir, "tls.crt"), a.cert);
    writeFileSync(join(dir, "tls.key"), b.key);
    const files = new CertificateFiles({
      certFile: join(dir, "tls.crt"),
      keyFile: join(dir, "tls.key"),
      refreshMs: 3600_000,
      log: pino({ level: "silent" }),
    });
    await expect(files.start()).rejects.toThrow("the key does not belong to the certificate");
  });
});
