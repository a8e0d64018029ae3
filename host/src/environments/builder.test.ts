import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PullPhase } from "../../../proto/gen/pyro/manager/v1/environment_pb.js";
import { PyroError } from "../../../sdk/src/errors.js";
import { MmdebstrapBuilder, mmdebstrapArgs, type BuildProgress } from "./builder.js";
import { findEntry } from "./catalog.js";

function hasMmdebstrap(): boolean {
  try {
    execFileSync("mmdebstrap", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pyro-builder-test-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const entry = findEntry("debian:12");

async function failure(promise: Promise<unknown>): Promise<PyroError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(PyroError);
  return err as PyroError;
}

describe("MmdebstrapBuilder", () => {
  it("asks mmdebstrap for the recipe's packages, small, from bookworm", () => {
    const args = mmdebstrapArgs(entry, "/t/rootfs", "http://m/debian");
    expect(args).toContain("--variant=minbase");
    expect(args).toContain("--include=bash,coreutils,git,ca-certificates");
    expect(args.find((a) => a.startsWith("--setup-hook="))).toContain("path-exclude=/usr/share/man/*");
    expect(args.slice(-3)).toEqual(["bookworm", "/t/rootfs", "http://m/debian"]);
  });

  it("fails fast with an install hint when mmdebstrap is missing", async () => {
    const builder = new MmdebstrapBuilder({ command: "/nonexistent/mmdebstrap" });
    const err = await failure(builder.build(entry, join(dir, "rootfs"), { mirror: "http://deb.debian.org/debian" }));
    expect(err.code).toBe("environment_build_failed");
    expect(err.hint).toContain("apt-get install -y mmdebstrap");
  });

  it("refuses a mirror that is not a URL", async () => {
    const err = await failure(new MmdebstrapBuilder().build(entry, join(dir, "rootfs"), { mirror: "deb http://x bookworm main" }));
    expect(err.code).toBe("invalid_argument");
  });

  it.skipIf(!hasMmdebstrap())("reports an unreachable mirror as environment_build_failed (skipped without mmdebstrap)", async () => {
    const events: BuildProgress[] = [];
    const mirror = "http://127.0.0.1:9/debian";
    const err = await failure(
      new MmdebstrapBuilder().build(entry, join(dir, "rootfs"), { mirror, onProgress: (p) => events.push(p) }),
    );
    expect(err.code).toBe("environment_build_failed");
    expect(err.message).toContain('"debian:12"');
    expect(err.message).toContain(mirror);
    expect(err.message).not.toContain("\n");
    expect(err.message).toMatch(/127\.0\.0\.1:9/);
    expect((err.data.outputTail as string[]).length).toBeGreaterThan(0);
    expect(events[0]?.phase).toBe(PullPhase.RESOLVE);
  }, 60_000);
});
