// Stable exit codes, documented in the README. Scripts and orchestrators rely on them.
export const EXIT = {
  /** Everything is as declared (apply), or the plan was shown. */
  ok: 0,
  /** At least one object could not be read or written; the others were applied. */
  applyFailed: 1,
  /** `plan --detailed-exitcode`: changes are pending. */
  changesPending: 2,
  /** The command line or an input file is invalid; nothing was sent to the server. */
  invalidInput: 3,
  /** The server could not be reached or did not become ready in time. */
  unreachable: 4,
  /** The server refused the credentials (401/403). */
  unauthorized: 5,
  /** A bug: an unexpected error. */
  internal: 70,
} as const;
