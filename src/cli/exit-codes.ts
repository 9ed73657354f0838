/** kvctl's exit codes: scripts branch on them, so they are part of its contract. */
export const EXIT_OK = 0;
/** `get` of a missing key; `cas` whose comparison failed (nothing was written). */
export const EXIT_NOT_FOUND = 1;
/** The command line is wrong: nothing was sent. */
export const EXIT_USAGE = 2;
/** A node answered with an error (4xx/5xx), or the cluster has no leader. */
export const EXIT_SERVER_ERROR = 3;
/** No node answered at all. */
export const EXIT_UNREACHABLE = 4;

/** A drill ran and found a violation (or could not finish): its report says which. */
export const EXIT_DRILL_FAILED = 5;

export type ExitCode = typeof EXIT_OK | typeof EXIT_NOT_FOUND | typeof EXIT_USAGE | typeof EXIT_SERVER_ERROR | typeof EXIT_UNREACHABLE | typeof EXIT_DRILL_FAILED;
