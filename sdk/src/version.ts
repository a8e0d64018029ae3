/** The pyro release this code is; the agent, manager and clients all report it. */
export const VERSION = "0.1.0";
