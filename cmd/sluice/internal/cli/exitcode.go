package cli

import "strconv"

// ExitCode is a process exit status of the command-line contract
// (DESIGN §2). Scripts branch on these numbers, so they never change
// meaning; a new failure class gets a new constant here and in docs/cli.md.
type ExitCode int

// Exit codes.
const (
	// ExitOK: success; with -detailed-exitcode, also "nothing to do".
	ExitOK ExitCode = 0
	// ExitError: a runtime error (state is left consistent) or a usage
	// error. Usage errors deliberately share 1 and never use 2, which
	// -detailed-exitcode gives a meaning of its own.
	ExitError ExitCode = 1
	// ExitChanges: only with -detailed-exitcode: there is work to do.
	ExitChanges ExitCode = 2
	// ExitFmtCheck: `fmt -check` found files that would change.
	ExitFmtCheck ExitCode = 3
	// ExitInvalid: the configuration is invalid (also `fmt` on a file it
	// cannot parse).
	ExitInvalid ExitCode = 4
	// ExitStalePlan: a saved plan no longer matches state or inputs.
	ExitStalePlan ExitCode = 5
	// ExitLocked: the lock is held by another run.
	ExitLocked ExitCode = 6
	// ExitChecksFailed: fixture tests or blocking checks failed; nothing
	// was committed.
	ExitChecksFailed ExitCode = 7
	// ExitInterrupted: SIGINT/SIGTERM; the run was aborted cleanly.
	// 128+SIGINT, as shells report an interrupted process.
	ExitInterrupted ExitCode = 130
)

// ExitCodes lists every exit code in numeric order, for help and docs.
var ExitCodes = []ExitCode{
	ExitOK, ExitError, ExitChanges, ExitFmtCheck, ExitInvalid,
	ExitStalePlan, ExitLocked, ExitChecksFailed, ExitInterrupted,
}

// String names the code, e.g. "invalid configuration".
func (c ExitCode) String() string {
	switch c {
	case ExitOK:
		return "success"
	case ExitError:
		return "error"
	case ExitChanges:
		return "changes present"
	case ExitFmtCheck:
		return "files need formatting"
	case ExitInvalid:
		return "invalid configuration"
	case ExitStalePlan:
		return "stale plan"
	case ExitLocked:
		return "lock held"
	case ExitChecksFailed:
		return "tests or checks failed"
	case ExitInterrupted:
		return "interrupted"
	}
	return "ExitCode(" + strconv.Itoa(int(c)) + ")"
}

// Describe is the one-line meaning of the code shown by `sluice help`.
func (c ExitCode) Describe() string {
	switch c {
	case ExitOK:
		return "success (with -detailed-exitcode: nothing to do)"
	case ExitError:
		return "runtime or usage error"
	case ExitChanges:
		return "with -detailed-exitcode only: there is work to do"
	case ExitFmtCheck:
		return "fmt -check found files to change"
	case ExitInvalid:
		return "invalid configuration (or fmt could not parse a file)"
	case ExitStalePlan:
		return "stale plan: re-run plan"
	case ExitLocked:
		return "lock held by another run"
	case ExitChecksFailed:
		return "tests or blocking checks failed; nothing committed"
	case ExitInterrupted:
		return "interrupted; the run was aborted cleanly"
	}
	return c.String()
}
