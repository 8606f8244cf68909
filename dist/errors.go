package dist

import (
	"errors"
	"fmt"

	"github.com/sluicedata/sluice/exec"
)

// Failure kinds of a task that no retry can mend: the scheduler must fail
// the run instead of trying again.
const (
	// KindInputChanged: an input changed since the plan (the run is
	// stale: exit 5).
	KindInputChanged = "InputChanged"
	// KindBadInput: on_bad_record or on_schema_change = "fail" stopped the
	// task, or an input vanished under "fail".
	KindBadInput = "BadInput"
	// KindRunOver: the run's journal says it is no longer running.
	KindRunOver = "RunOver"
	// KindNoPlan: the saved plan is missing or unreadable.
	KindNoPlan = "NoPlan"
)

// NonRetryable are the kinds above, for a scheduler's retry policy.
var NonRetryable = []string{KindInputChanged, KindBadInput, KindRunOver, KindNoPlan}

// Error is a task failure of a known kind.
type Error struct {
	Kind string
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Classify returns the kind of a permanent task failure, or "" for one a
// retry may mend (storage trouble, a lost worker, a cancelled attempt).
func Classify(err error) string {
	var de *Error
	var ic *exec.InputChangedError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &de):
		return de.Kind
	case errors.As(err, &ic):
		return KindInputChanged
	case exec.BadInput(err):
		return KindBadInput
	}
	return ""
}

// FailureOf describes a permanent task failure as a record (or a
// scheduler's error details).
func FailureOf(task int, err error, attempt string) Failure {
	f := Failure{Task: task, Kind: Classify(err), Message: err.Error(), Attempt: attempt}
	var ic *exec.InputChangedError
	if errors.As(err, &ic) {
		f.Input = ic
	}
	return f
}

// Err is the failure as the coordinator reports it: an
// *exec.InputChangedError for a changed input (apply: stale, exit 5).
func (f Failure) Err() error {
	if f.Input != nil {
		return &Error{Kind: f.Kind, Err: fmt.Errorf("task %d: %w", f.Task, f.Input)}
	}
	return &Error{Kind: f.Kind, Err: fmt.Errorf("task %d: %s", f.Task, f.Message)}
}
