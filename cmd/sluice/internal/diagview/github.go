package diagview

import (
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// WriteGitHub writes one GitHub Actions workflow command per diagnostic:
//
//	::error file=F,line=L,col=C,endLine=L2,endColumn=C2,title=SUMMARY::DETAIL
//
// so that a `sluice validate -format github` step annotates the pull
// request's diff. endColumn is inclusive (GitHub's convention), HCL's end
// column is exclusive, hence the -1. Warnings use ::warning.
func WriteGitHub(w io.Writer, diags hcl.Diagnostics, opts Options) error {
	var b strings.Builder
	for _, d := range diags {
		cmd := "error"
		if d.Severity == hcl.DiagWarning {
			cmd = "warning"
		}
		var props []string
		if r := d.Subject; r != nil && r.Filename != "" {
			props = append(props,
				"file="+escapeProperty(DisplayPath(r.Filename, opts.Cwd)),
				fmt.Sprintf("line=%d", r.Start.Line),
				fmt.Sprintf("col=%d", r.Start.Column),
				fmt.Sprintf("endLine=%d", r.End.Line))
			end := r.End.Column - 1
			if r.End.Line == r.Start.Line && end < r.Start.Column {
				end = r.Start.Column
			}
			if end >= 1 {
				props = append(props, fmt.Sprintf("endColumn=%d", end))
			}
		}
		props = append(props, "title="+escapeProperty(d.Summary))
		msg := d.Detail
		if msg == "" {
			msg = d.Summary
		}
		fmt.Fprintf(&b, "::%s %s::%s\n", cmd, strings.Join(props, ","), escapeData(msg))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// escapeData escapes a workflow command's message: %, CR and LF, as the
// runner's toolkit does (actions/toolkit command.ts escapeData).
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a property value: as escapeData, plus ':' and ','
// which would otherwise end the value (toolkit escapeProperty).
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
