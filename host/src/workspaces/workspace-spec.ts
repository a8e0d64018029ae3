/**
 * Checking what a client asks of a workspace before anything is made: resources in bounds,
 * names and labels well-formed. Defaults and bounds are those of a run.
 */
import { PyroError } from "../../../sdk/src/errors.js";
import { echoInput } from "../../../sdk/src/echo.js";
import { findEntry } from "../environments/catalog.js";
import { LABEL_KEY, LABEL_VALUE_MAX, LABELS_MAX, SNAPSHOT_NAME, WORKSPACE_ID, WORKSPACE_NAME } from "./workspace-record.js";

export const WORKSPACE_DEFAULTS = { vcpuCount: 1, memMib: 1024, diskMib: 4096, ttlSeconds: 600, timeoutSeconds: 30 } as const;
export const WORKSPACE_BOUNDS = { vcpuCount: 64, memMib: [128, 1 << 20], diskMib: [128, 1 << 20], ttlSeconds: 86_400, timeoutSeconds: 86_400 } as const;

function check(cond: boolean, message: string): void {
  if (!cond) throw new PyroError("invalid_argument", message);
}

export interface CreateSpecInput {
  environment: string;
  vcpuCount: number;
  memMib: number;
  diskMib: number;
  ttlSeconds: number;
  name: string;
  labels: Record<string, string>;
}

/** Fills defaults and refuses what is out of range. */
export function validateCreate(s: CreateSpecInput) {
  check(s.environment !== "", "an environment is required, e.g. debian:12");
  const entry = findEntry(s.environment);
  const vcpuCount = s.vcpuCount || WORKSPACE_DEFAULTS.vcpuCount;
  const memMib = s.memMib || WORKSPACE_DEFAULTS.memMib;
  const diskMib = s.diskMib || WORKSPACE_DEFAULTS.diskMib;
  const ttlSeconds = s.ttlSeconds || WORKSPACE_DEFAULTS.ttlSeconds;
  check(vcpuCount <= WORKSPACE_BOUNDS.vcpuCount, `vcpu_count must be at most ${WORKSPACE_BOUNDS.vcpuCount}`);
  check(memMib >= WORKSPACE_BOUNDS.memMib[0] && memMib <= WORKSPACE_BOUNDS.memMib[1], `mem_mib must be between ${WORKSPACE_BOUNDS.memMib[0]} and ${WORKSPACE_BOUNDS.memMib[1]}`);
  check(diskMib >= WORKSPACE_BOUNDS.diskMib[0] && diskMib <= WORKSPACE_BOUNDS.diskMib[1], `disk_mib must be between ${WORKSPACE_BOUNDS.diskMib[0]} and ${WORKSPACE_BOUNDS.diskMib[1]}`);
  check(ttlSeconds <= WORKSPACE_BOUNDS.ttlSeconds, `ttl_seconds must be at most ${WORKSPACE_BOUNDS.ttlSeconds}`);
  const name = s.name === "" ? undefined : validateName(s.name);
  return { entry, vcpuCount, memMib, diskMib, ttlSeconds, name, labels: validateLabels(s.labels) };
}

export function validateName(name: string): string {
  check(WORKSPACE_NAME.test(name), `the name ${echoInput(name, 80)} is not allowed: use up to 63 letters, digits, ".", "_" and "-", starting with a letter or digit`);
  check(!WORKSPACE_ID.test(name), `the name ${name} looks like a workspace id; choose another`);
  return name;
}

export function validateLabels(labels: Record<string, string>): Record<string, string> {
  const entries = Object.entries(labels);
  check(entries.length <= LABELS_MAX, `at most ${LABELS_MAX} labels are allowed`);
  for (const [k, v] of entries) {
    check(LABEL_KEY.test(k), `the label key ${echoInput(k, 80)} is not allowed: use up to 63 letters, digits, ".", "_", "/" and "-"`);
    check(v.length <= LABEL_VALUE_MAX && !/[\u0000-\u001f\u007f]/.test(v), `the value of label ${k} must be at most ${LABEL_VALUE_MAX} characters without control characters`);
  }
  return { ...labels };
}

export function validateSnapshotName(name: string): string {
  check(SNAPSHOT_NAME.test(name), `the snapshot name ${echoInput(name, 80)} is not allowed: use up to 64 letters, digits, ".", "_" and "-", starting with a letter or digit`);
  return name;
}

/**
 * The working directory of a command, relative to /workspace ("" for /workspace itself):
 * the guest resolves it against its workspace directory.
 */
export function workspaceCwd(cwd: string): string {
  if (cwd === "") return "";
  const parts: string[] = [];
  const rel = cwd.startsWith("/") ? (cwd === "/workspace" || cwd.startsWith("/workspace/") ? cwd.slice("/workspace".length) : undefined) : cwd;
  if (rel === undefined) throw new PyroError("path_outside_workspace", `the working directory ${echoInput(cwd, 200)} is not under /workspace`);
  for (const p of rel.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") {
      if (parts.length === 0) throw new PyroError("path_outside_workspace", `the working directory ${echoInput(cwd, 200)} leads out of /workspace`);
      parts.pop();
    } else parts.push(p);
  }
  check(!cwd.includes("\0"), "the working directory contains a NUL byte");
  return parts.join("/");
}
