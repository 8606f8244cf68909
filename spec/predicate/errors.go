package predicate

import "fmt"

// Error is a predicate diagnostic. Span is the byte range of the source
// text it concerns, as tight as possible (the offending identifier, literal
// or operator); Summary is terse, Detail says what is supported or how to fix it.
type Error struct {
	Span    Span
	Summary string
	Detail  string
}

func (e Error) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("%d-%d: %s", e.Span.Start, e.Span.End, e.Summary)
	}
	return fmt.Sprintf("%d-%d: %s: %s", e.Span.Start, e.Span.End, e.Summary, e.Detail)
}
