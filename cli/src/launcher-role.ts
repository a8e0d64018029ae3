/**
 * Which role of the pyro bundle a command line starts, for the launcher's code cache: the
 * long-lived servers (`manager serve`, `mcp serve`) compile other parts of the bundle than a
 * CLI call does. Imports nothing: the launcher runs before anything else.
 */
export type LauncherRole = "manager" | "mcp" | "cli";

export function roleOf(args: readonly string[]): LauncherRole {
  // Flags may come first (`pyro --debug manager serve`); their values are never these words.
  const words = args.filter((a) => !a.startsWith("-"));
  if (words[0] === "manager" && words[1] === "serve") return "manager";
  if (words[0] === "mcp" && words[1] === "serve") return "mcp";
  return "cli";
}
