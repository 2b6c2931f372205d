import { describe, expect, it } from "vitest";
import { CLIENT_ROLES, reportClientRoles } from "../../../src/controllers/issuer/client-roles.ts";
import type { Condition } from "../../../src/runtime/conditions.ts";

const now = new Date("2026-11-28T00:00:00Z");
const ready: Condition = {
  type: "Ready",
  status: "True",
  reason: "Authenticated",
  message: "",
  lastTransitionTime: "x",
};
const earlier: Condition = {
  type: CLIENT_ROLES,
  status: "True",
  reason: "Resolved",
  message: "clients get Member",
  lastTransitionTime: "2026-11-01T00:00:00Z",
};
const member = { id: "m", name: "Tenant Member" };

describe("the issuer's ClientRoles report", () => {
  it("sets ClientRoles and status.clientRoles from a check that read the roles", () => {
    const report = reportClientRoles(
      {
        ok: true,
        clientRoles: { ok: true, reason: "Resolved", message: "clients get Member", defaults: [member] },
      },
      [ready, earlier],
      3,
      now,
    );
    expect(report.clientRoles).toEqual([member]);
    // Unchanged status: the transition time stays.
    expect(report.conditions.find((c) => c.type === CLIENT_ROLES)).toEqual({
      ...earlier,
      observedGeneration: 3,
    });
  });

  it("turns ClientRoles False and removes status.clientRoles when a role is missing", () => {
    const report = reportClientRoles(
      { ok: true, clientRoles: { ok: false, reason: "RoleNotFound", message: "no Auditors" } },
      [ready, earlier],
      3,
      now,
    );
    expect(report.clientRoles).toBeNull();
    expect(report.conditions.find((c) => c.type === CLIENT_ROLES)).toMatchObject({
      status: "False",
      reason: "RoleNotFound",
      lastTransitionTime: now.toISOString(),
    });
  });

  it("leaves both as they were when the check failed before reading the roles", () => {
    const report = reportClientRoles({ ok: false }, [ready, earlier], 3, now);
    expect(report.clientRoles).toBeUndefined();
    expect(report.conditions).toEqual([ready, earlier]);
  });

  it("removes both from an issuer that creates no clients (auth.self, embedded)", () => {
    const report = reportClientRoles({ ok: true }, [ready, earlier], 3, now);
    expect(report.clientRoles).toBeNull();
    expect(report.conditions).toEqual([ready]);
  });
});
