/** The pyro TypeScript SDK: a client of the pyro manager, its public types and its one error type. */
export { Pyro } from "./client.js";
export { PyroError, ERRORS, isErrorCode } from "./errors.js";
export type { ErrorCode } from "./errors.js";
export { VERSION } from "./version.js";
export { OUTPUT_LIMIT_BYTES } from "./capped-output.js";
export { OPERATIONS, MCP_PROFILES } from "./operations.js";
export type { OperationName } from "./operations.js";
export type { ArgsOf, McpProfileName, OperationSpec, ParamSpec } from "./operations/spec.js";
export type {
  CallOptions,
  CheckStatusName,
  DoctorCheckInfo,
  DoctorReport,
  Env,
  EnvironmentInfo,
  EnvironmentManifestInfo,
  EnvironmentsApi,
  OutputStreamName,
  PruneOptions,
  PruneResult,
  PullOptions,
  PullPhaseName,
  PullProgressInfo,
  PyroClient,
  PyroOptions,
  RunOptions,
  RunResult,
  RunStartedInfo,
  RunTimeoutData,
  VersionInfo,
} from "./types.js";
export type {
  ApplyWorkspacePatchOptions,
  CreateWorkspaceOptions,
  DiffEntryInfo,
  ExecWorkspaceOptions,
  ExecWorkspaceResult,
  ExecWorkspaceStartedInfo,
  FileEntryInfo,
  FileTypeName,
  JournalEntryInfo,
  ListWorkspaceFilesOptions,
  ListWorkspacesOptions,
  PatchFileResultInfo,
  PatchFileStatusName,
  PushWorkspaceOptions,
  ReadWorkspaceFileOptions,
  ResetWorkspaceOptions,
  SnapshotInfo,
  UpdateWorkspaceOptions,
  WorkspaceDiff,
  WorkspaceExportResult,
  WorkspaceFileContent,
  WorkspaceFileList,
  WorkspaceFileWritten,
  WorkspaceInfo,
  WorkspaceLogs,
  WorkspaceLogsOptions,
  WorkspaceMethods,
  WorkspacePatchResult,
  WorkspacePushResult,
  WorkspaceStateName,
} from "./workspace-types.js";
