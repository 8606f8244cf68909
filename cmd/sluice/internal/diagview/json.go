package diagview

import (
	"encoding/json"
	"io"

	"github.com/hashicorp/hcl/v2"
)

// JSONFormatVersion is the format_version of the validate -json document.
// A consumer checks the major part; new fields bump the minor.
const JSONFormatVersion = "1.0"

// ValidateJSON is the document `sluice validate -json` prints, in the shape
// of `terraform validate -json` so that existing tooling reads it.
type ValidateJSON struct {
	FormatVersion string           `json:"format_version"`
	Valid         bool             `json:"valid"`
	ErrorCount    int              `json:"error_count"`
	WarningCount  int              `json:"warning_count"`
	Diagnostics   []JSONDiagnostic `json:"diagnostics"`
}

// JSONDiagnostic is one diagnostic; Range is absent when the diagnostic
// concerns no particular place (a missing directory, say).
type JSONDiagnostic struct {
	Severity string     `json:"severity"` // "error" | "warning"
	Summary  string     `json:"summary"`
	Detail   string     `json:"detail"`
	Range    *JSONRange `json:"range,omitempty"`
}

// JSONRange is a source range; Filename is shown as in the human output.
type JSONRange struct {
	Filename string  `json:"filename"`
	Start    JSONPos `json:"start"`
	End      JSONPos `json:"end"`
}

// JSONPos is a position: 1-based line and column (characters), 0-based byte.
type JSONPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// ToJSON converts diagnostics; it never returns nil, so the document has
// "diagnostics": [] rather than null.
func ToJSON(diags hcl.Diagnostics, opts Options) []JSONDiagnostic {
	out := make([]JSONDiagnostic, 0, len(diags))
	for _, d := range diags {
		jd := JSONDiagnostic{Severity: SeverityName(d.Severity), Summary: d.Summary, Detail: d.Detail}
		if r := d.Subject; r != nil {
			jd.Range = &JSONRange{
				Filename: DisplayPath(r.Filename, opts.Cwd),
				Start:    JSONPos{r.Start.Line, r.Start.Column, r.Start.Byte},
				End:      JSONPos{r.End.Line, r.End.Column, r.End.Byte},
			}
		}
		out = append(out, jd)
	}
	return out
}

// NewValidateJSON builds the validate document for diags.
func NewValidateJSON(diags hcl.Diagnostics, opts Options) ValidateJSON {
	v := ValidateJSON{FormatVersion: JSONFormatVersion, Diagnostics: ToJSON(diags, opts)}
	for _, d := range diags {
		switch d.Severity {
		case hcl.DiagError:
			v.ErrorCount++
		case hcl.DiagWarning:
			v.WarningCount++
		}
	}
	v.Valid = v.ErrorCount == 0
	return v
}

// WriteValidateJSON writes the validate document, indented, with a final
// newline.
func WriteValidateJSON(w io.Writer, diags hcl.Diagnostics, opts Options) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(NewValidateJSON(diags, opts))
}
