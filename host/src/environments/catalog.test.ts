import { describe, expect, it } from "vitest";
import { PyroError } from "../../../sdk/src/errors.js";
import { CATALOG, findEntry, slugOf } from "./catalog.js";

describe("catalog", () => {
  it("has the three Debian 12 environments with recipe versions", () => {
    expect(CATALOG.map((e) => e.name)).toEqual(["debian:12", "debian:12-base", "debian:12-build"]);
    for (const entry of CATALOG) {
      expect(entry.version).toBe("1");
      expect(entry.variant).toBe("minbase");
    }
    expect(findEntry("debian:12").packages).toEqual(expect.arrayContaining(["git", "ca-certificates"]));
    expect(findEntry("debian:12-build").packages).toEqual(
      expect.arrayContaining(["git", "build-essential", "make", "python3", "pkg-config", "curl"]),
    );
  });

  it("rejects an unknown name with environment_not_found and lists the known ones", () => {
    let caught: unknown;
    try {
      findEntry("ubuntu:24.04");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PyroError);
    const err = caught as PyroError;
    expect(err.code).toBe("environment_not_found");
    expect(err.message).toBe('unknown environment "ubuntu:24.04"');
    expect(err.hint).toContain("debian:12-build");
  });

  it("turns names into directory names", () => {
    expect(slugOf("debian:12-build")).toBe("debian-12-build");
    expect(new Set(CATALOG.map((e) => slugOf(e.name))).size).toBe(CATALOG.length);
  });
});
