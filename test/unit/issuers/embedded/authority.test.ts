/** The self-managed CA: when the next CA is published, when it takes over, when the serving certificate is renewed, what the bundle holds, and how a damaged Secret is repaired. */
import { X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type AuthorityPolicy,
  type AuthorityState,
  caBundle,
  encodeAuthority,
  handoverDue,
  planAuthority,
  servingRenewalReason,
  successorDue,
} from "../../../../src/issuers/embedded/authority.ts";
import { issueServing, type KeyPair, makeCa } from "../../../../src/issuers/embedded/certificates.ts";

const DAY = 24 * 3600_000;
const T0 = new Date("2030-01-01T00:00:00Z");
const at = (days: number) => new Date(T0.getTime() + days * DAY);
const HOSTS = ["rotor.rotor-system.svc", "localhost", "127.0.0.1"];
const policy: AuthorityPolicy = { caValidityMs: 360 * DAY, servingValidityMs: 30 * DAY, hosts: HOSTS };
const x509 = (pair: KeyPair) => new X509Certificate(pair.cert);
const certsIn = (bundle: string) => bundle.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;

let ca: KeyPair;
let otherCa: KeyPair;
let serving: KeyPair;
let fresh: AuthorityState;

beforeAll(async () => {
  ca = await makeCa(T0, policy.caValidityMs);
  otherCa = await makeCa(T0, policy.caValidityMs);
  serving = await issueServing(ca, HOSTS, T0, at(30));
  fresh = { ca, next: undefined, serving };
});

describe("renewal timing", () => {
  it.each([
    ["a young CA gets no successor", 179, false],
    ["a CA past half its life gets a successor", 181, true],
  ])("%s", (_, days, due) => {
    expect(successorDue(x509(ca), at(days))).toBe(due);
  });

  it.each([
    ["the next CA waits while more than a sixth of the CA's life is left", 299, false],
    ["the next CA takes over with a sixth left", 301, true],
  ])("%s", (_, days, due) => {
    expect(handoverDue(x509(ca), at(days))).toBe(due);
  });

  it.each([
    ["a serving certificate with two thirds of its life left stays", "own", HOSTS, 19, undefined],
    ["one with a third left is renewed", "own", HOSTS, 21, "a third of its life is left"],
    ["one signed by another CA is renewed", "other", HOSTS, 1, "it was not signed by the current CA"],
    [
      "one naming other hosts is renewed",
      "own",
      ["rotor.elsewhere.svc", "127.0.0.1"],
      1,
      "the hosts it must name changed",
    ],
  ])("%s", (_, issuer, hosts, days, reason) => {
    expect(servingRenewalReason(x509(serving), x509(issuer === "own" ? ca : otherCa), hosts, at(days))).toBe(
      reason,
    );
  });
});

describe("planAuthority", () => {
  it("makes a CA and a serving certificate for the hosts when there is no Secret", async () => {
    const plan = await planAuthority(undefined, undefined, T0, policy);
    expect(plan.write).toBe(true);
    expect(plan.problems).toEqual([]);
    const cert = x509(plan.state.serving);
    expect(cert.checkIssued(x509(plan.state.ca))).toBe(true);
    expect(cert.subjectAltName).toBe("DNS:rotor.rotor-system.svc, DNS:localhost, IP Address:127.0.0.1");
    expect(x509(plan.state.ca).ca).toBe(true);
    expect(certsIn(caBundle(plan.state))).toBe(1);
  });

  it("changes nothing in a sound Secret", async () => {
    const plan = await planAuthority(encodeAuthority(fresh), fresh, at(1), policy);
    expect(plan).toMatchObject({ write: false, problems: [], changes: [], state: fresh });
  });

  it("publishes the next CA in the bundle at half the CA's life, before it signs anything", async () => {
    const plan = await planAuthority(encodeAuthority(fresh), fresh, at(181), policy);
    expect(plan.write).toBe(true);
    expect(plan.state.ca).toEqual(ca);
    expect(plan.state.next).toBeDefined();
    expect(x509(plan.state.serving).checkIssued(x509(ca))).toBe(true);
    expect(certsIn(caBundle(plan.state))).toBe(2);
  });

  it("hands over to the next CA with a sixth of the life left; the old bundle still trusts the new certificate", async () => {
    const published = (await planAuthority(encodeAuthority(fresh), fresh, at(181), policy)).state;
    const renewed = await planAuthority(encodeAuthority(published), published, at(301), policy);
    const next = published.next as KeyPair;
    expect(renewed.state.ca).toEqual(next);
    expect(renewed.state.next).toBeUndefined();
    const servingCert = x509(renewed.state.serving);
    expect(servingCert.checkIssued(x509(next))).toBe(true);
    expect(servingCert.verify(x509(next).publicKey)).toBe(true);
    // A workload that still holds the bundle from before the handover has the new issuer in it.
    expect(caBundle(published)).toContain(next.cert.trim());
    expect(Date.parse(servingCert.validTo)).toBeLessThanOrEqual(Date.parse(x509(next).validTo));
  });

  it("never lets a serving certificate outlive its CA", async () => {
    const late = await planAuthority(
      encodeAuthority({ ...fresh, serving: await issueServing(ca, HOSTS, at(-40), at(-10)) }),
      undefined,
      at(355),
      {
        ...policy,
        caValidityMs: 1000 * DAY,
      },
    );
    expect(Date.parse(x509(late.state.serving).validTo)).toBeLessThanOrEqual(
      Date.parse(x509(late.state.ca).validTo),
    );
  });

  it("reports a damaged Secret and restores what this replica serves", async () => {
    const garbage = {
      "ca.crt": Buffer.from("nope").toString("base64"),
      "ca.key": Buffer.from("nope").toString("base64"),
    };
    const plan = await planAuthority(garbage, fresh, at(1), policy);
    expect(plan.write).toBe(true);
    expect(plan.problems).toEqual(["ca.crt/ca.key: the certificate is not a PEM X.509 certificate"]);
    expect(plan.state.ca).toEqual(ca);
    expect(plan.state.serving).toEqual(serving);
    expect(plan.problems.join()).not.toContain("nope");
  });

  it("makes a new CA for a damaged Secret when it holds nothing", async () => {
    const damaged = {
      ...encodeAuthority(fresh),
      "ca.key": encodeAuthority({ ...fresh, ca: otherCa })["ca.key"] as string,
    };
    const plan = await planAuthority(damaged, undefined, at(1), policy);
    expect(plan.problems).toEqual(["ca.crt/ca.key: the key does not belong to the certificate"]);
    expect(plan.state.ca.cert).not.toBe(ca.cert);
    expect(x509(plan.state.serving).checkIssued(x509(plan.state.ca))).toBe(true);
  });

  it("renews a serving certificate that another CA signed", async () => {
    const foreign = { ...fresh, serving: await issueServing(otherCa, HOSTS, T0, at(30)) };
    const plan = await planAuthority(encodeAuthority(foreign), undefined, at(1), policy);
    expect(plan.write).toBe(true);
    expect(plan.changes).toContain("renewed the serving certificate: it was not signed by the current CA");
    expect(x509(plan.state.serving).checkIssued(x509(ca))).toBe(true);
  });

  it("replaces an expired CA that has no successor", async () => {
    const plan = await planAuthority(encodeAuthority(fresh), undefined, at(400), policy);
    expect(plan.state.ca.cert).not.toBe(ca.cert);
    expect(plan.changes).toContain("the CA expired");
  });
});
