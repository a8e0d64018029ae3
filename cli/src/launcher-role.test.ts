import { describe, expect, it } from "vitest";
import { roleOf } from "./launcher-role.js";

describe("roleOf", () => {
  it("tells the servers from CLI calls", () => {
    expect(roleOf(["manager", "serve", "--socket", "/tmp/s"])).toBe("manager");
    expect(roleOf(["--debug", "manager", "serve"])).toBe("manager");
    expect(roleOf(["mcp", "serve", "--profile", "workspace-core"])).toBe("mcp");
    expect(roleOf(["manager", "status"])).toBe("cli");
    expect(roleOf(["run", "debian:12", "--", "manager", "serve"])).toBe("cli");
    expect(roleOf([])).toBe("cli");
    expect(roleOf(["--version"])).toBe("cli");
  });
});
