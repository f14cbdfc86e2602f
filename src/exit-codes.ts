// Stable exit codes, documented in the README. Scripts and orchestrators rely on them.
export const EXIT = {
  /** Everything is as declared (apply), or the plan was shown. */
  ok: 0,
  /** At least one object could not be read or written; the others were applied. */
  applyFailed: 1,
  /** `plan --detailed-exitcode`: changes are pending; `migrate --check`: a file would be rewritten. */
  changesPending: 2,
  /** The command line or an input file is invalid; nothing was sent to the server. */
  invalidInput: 3,
  /** The server could not be reached, did not become ready in time, or stopped answering mid-run. */
  unreachable: 4,
  /** The server refused the credentials (401/403). */
  unauthorized: 5,
  /** `apply FILE`: the saved plan is stale (the inputs or the server changed since); nothing was written. */
  stalePlan: 6,
  /** Stopped by SIGINT (Ctrl-C): 128 + 2, as a shell reports it. */
  interrupted: 130,
  /** Stopped by SIGTERM (docker stop, Kubernetes): 128 + 15. */
  terminated: 143,
  /** A bug: an unexpected error. */
  internal: 70,
} as const;
