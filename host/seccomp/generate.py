#!/usr/bin/python3
"""Compiles host/seccomp/profile.json into seccomp BPF, one program per architecture.

libseccomp (Debian's python3-seccomp) does the compiling; nothing here writes BPF by hand.
Writes into host/seccomp/gen/:
  <arch>.bpf   the program, as bubblewrap's --seccomp reads it (struct sock_filter[])
  <arch>.pfc   libseccomp's readable rendering of it, for review
  filters.ts   the programs and their figures, for the manager to embed

The output depends only on the profile and libseccomp's version, not on the machine:
`npm run check-generated` regenerates it and fails when the checked-in files differ.
Run it with /usr/bin/python3 (the system Python that python3-seccomp installs into).
"""
import base64
import errno
import hashlib
import json
import os
import sys

try:
    import seccomp
except ImportError:
    sys.exit("generate.py needs libseccomp's Python binding: apt-get install -y python3-seccomp (and run it with /usr/bin/python3)")

HERE = os.path.dirname(os.path.abspath(__file__))
PROFILE = os.path.join(HERE, "profile.json")
OUT = os.path.join(HERE, "gen")

ARCHES = {"x86_64": seccomp.Arch.X86_64, "aarch64": seccomp.Arch.AARCH64}
# Node's process.arch for each, the key the manager looks its filter up by.
NODE_ARCH = {"x86_64": "x64", "aarch64": "arm64"}
OPS = {"eq": seccomp.EQ, "masked_eq": seccomp.MASKED_EQ}
ACTIONS = {"allow", "errno", "refuse"}
# The kernel's BPF_MAXINSNS: a longer program is refused when loaded.
MAX_INSTRUCTIONS = 4096


def fail(message):
    sys.exit(f"host/seccomp/profile.json: {message}")


def check_keys(obj, where, required, optional=()):
    if not isinstance(obj, dict):
        fail(f"{where} must be an object")
    missing = [k for k in required if k not in obj]
    unknown = [k for k in obj if k not in required and k not in optional]
    if missing or unknown:
        fail(f"{where}: missing {missing}, unknown {unknown}")


def number(value, constants, where):
    """An int, a "0x…" string, a constant's name, or a list of those OR-ed together."""
    if isinstance(value, list):
        out = 0
        for v in value:
            out |= number(v, constants, where)
        return out
    if isinstance(value, str) and value in constants:
        return number(constants[value], {}, where)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        fail(f"{where}: {value!r} is not a number")
    try:
        n = value if isinstance(value, int) else int(value, 0)
    except ValueError:
        fail(f"{where}: {value!r} is neither a number nor a constant")
    if not 0 <= n < 2**64:
        fail(f"{where}: {value!r} is out of range")
    return n


def known_syscalls(arch):
    """Every syscall libseccomp has a number for on `arch`, by name."""
    names = set()
    for nr in range(0, 1024):
        try:
            names.add(seccomp.resolve_syscall(arch, nr).decode())
        except (ValueError, RuntimeError):
            pass
    return names


def exists_on(arch, name):
    # libseccomp answers a negative pseudo-number for a name it knows but `arch` lacks, -1 for one it does not know.
    return seccomp.resolve_syscall(arch, name) >= 0


def load_profile():
    with open(PROFILE) as f:
        p = json.load(f)
    check_keys(p, "the profile", ["why", "name", "architectures", "defaultErrno", "otherAbis", "constants", "groups"])
    if p["otherAbis"] != "kill-process":
        fail('otherAbis must be "kill-process"')
    for a in p["architectures"]:
        if a not in ARCHES:
            fail(f"unknown architecture {a!r}; known: {sorted(ARCHES)}")
    seen = {}
    for i, g in enumerate(p["groups"]):
        where = f"group {i} ({g.get('why', '')[:40]!r})"
        check_keys(g, where, ["why", "action", "syscalls"], ["when", "errno"])
        if g["action"] not in ACTIONS:
            fail(f"{where}: action must be one of {sorted(ACTIONS)}")
        if (g["action"] == "errno") != ("errno" in g):
            fail(f'{where}: "errno" goes with action "errno", and only there')
        if "when" in g and g["action"] != "allow":
            fail(f'{where}: "when" goes with action "allow" only')
        for name in g["syscalls"]:
            if name in seen:
                fail(f"{name} is in group {seen[name]} and in group {i}")
            seen[name] = i
            if not any(exists_on(ARCHES[a], name) for a in p["architectures"]):
                fail(f"{where}: {name!r} is no system call of {p['architectures']}")
        for alternative in g.get("when", []):
            for c in alternative:
                check_keys(c, where + " condition", ["arg", "op", "value"], ["mask"])
                if c["op"] not in OPS or (c["op"] == "masked_eq") != ("mask" in c) or c["arg"] not in range(6):
                    fail(f"{where}: bad condition {c}")
    for a in p["architectures"]:
        unclassified = sorted(known_syscalls(ARCHES[a]) - set(seen))
        if unclassified:
            fail(f"these {a} system calls are neither allowed nor refused: {', '.join(unclassified)}")
    return p


def errno_of(name):
    value = getattr(errno, name, None)
    if not isinstance(value, int):
        fail(f"unknown errno {name!r}")
    return value


def compile_for(p, arch_name):
    arch = ARCHES[arch_name]
    f = seccomp.SyscallFilter(seccomp.ERRNO(errno_of(p["defaultErrno"])))
    # The filter holds the target architecture alone, whatever this machine is.
    if not f.exist_arch(arch):
        f.add_arch(arch)
    if seccomp.system_arch() & 0xFFFFFFFF != arch & 0xFFFFFFFF:  # one unsigned, the other signed
        f.remove_arch(seccomp.Arch.NATIVE)
    f.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
    # A binary tree of syscall numbers: a few comparisons per call instead of one per rule.
    f.set_attr(seccomp.Attr.CTL_OPTIMIZE, 2)
    consts = p["constants"]
    counts = {"allowed": 0, "conditional": 0, "errno": 0, "refused": 0}
    for g in p["groups"]:
        for name in g["syscalls"]:
            if not exists_on(arch, name):
                continue
            if g["action"] == "refuse":
                counts["refused"] += 1  # the default action refuses; named so every syscall is a decision
            elif g["action"] == "errno":
                f.add_rule(seccomp.ERRNO(errno_of(g["errno"])), name)
                counts["errno"] += 1
            elif "when" in g:
                for alternative in g["when"]:
                    args = []
                    for c in alternative:
                        where = f"{name} condition"
                        if c["op"] == "masked_eq":
                            args.append(seccomp.Arg(c["arg"], seccomp.MASKED_EQ, number(c["mask"], consts, where), number(c["value"], consts, where)))
                        else:
                            args.append(seccomp.Arg(c["arg"], seccomp.EQ, number(c["value"], consts, where)))
                    f.add_rule(seccomp.ALLOW, name, *args)
                counts["conditional"] += 1
            else:
                f.add_rule(seccomp.ALLOW, name)
                counts["allowed"] += 1
    return f, counts


def main():
    p = load_profile()
    # Start clean, as buf does for proto/gen: nothing stale survives a dropped architecture.
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        os.remove(os.path.join(OUT, name))
    entries = []
    for arch_name in p["architectures"]:
        f, counts = compile_for(p, arch_name)
        bpf_path = os.path.join(OUT, f"{arch_name}.bpf")
        with open(bpf_path, "wb") as out:
            f.export_bpf(out)
        with open(os.path.join(OUT, f"{arch_name}.pfc"), "w") as out:
            f.export_pfc(out)
        with open(bpf_path, "rb") as src:
            bpf = src.read()
        instructions = len(bpf) // 8
        if len(bpf) % 8 or not 0 < instructions <= MAX_INSTRUCTIONS:
            fail(f"{arch_name}: the program has {len(bpf)} bytes, not 1 to {MAX_INSTRUCTIONS} instructions")
        entries.append(
            f'  {NODE_ARCH[arch_name]}: {{\n'
            f'    arch: "{arch_name}",\n'
            f'    allowed: {counts["allowed"]},\n'
            f'    conditional: {counts["conditional"]},\n'
            f'    errno: {counts["errno"]},\n'
            f'    refused: {counts["refused"]},\n'
            f'    instructions: {instructions},\n'
            f'    sha256: "{hashlib.sha256(bpf).hexdigest()}",\n'
            f'    bpf: "{base64.b64encode(bpf).decode()}",\n'
            f'  }},\n'
        )
        print(f"{arch_name}: {counts['allowed']} allowed, {counts['conditional']} with argument checks, {counts['errno']} errno, {counts['refused']} refused by name; {instructions} instructions")
    with open(os.path.join(OUT, "filters.ts"), "w") as out:
        out.write(
            "// Generated by host/seccomp/generate.py from host/seccomp/profile.json with libseccomp.\n"
            "// Do not edit: `npm run generate`.\n"
            "\n"
            "/** The profile these programs were compiled from. */\n"
            f'export const SECCOMP_PROFILE = "{p["name"]}";\n'
            "\n"
            "/** One seccomp BPF program per Node `process.arch`, base64; the figures count syscalls, not instructions. */\n"
            "export const SECCOMP_PROGRAMS = {\n" + "".join(entries) + "} as const;\n"
        )


if __name__ == "__main__":
    main()
