package decode

import "strings"

// strftimeToGo maps strftime directives to Go layout fragments, for
// timestamp_format values written the C/Python/DuckDB way ("%Y-%m-%d").
var strftimeToGo = map[byte]string{
	'Y': "2006", 'y': "06", 'm': "01", 'd': "02", 'e': "_2", 'H': "15", 'I': "03",
	'M': "04", 'S': "05", 'f': "000000", 'p': "PM", 'z': "-0700", 'Z': "MST",
	'b': "Jan", 'h': "Jan", 'B': "January", 'a': "Mon", 'A': "Monday", 'j': "002",
	'F': "2006-01-02", 'T': "15:04:05", '%': "%",
}

// goLayout returns a Go time layout for a timestamp_format: a format with
// '%' directives is translated from strftime; anything else is taken as a
// Go layout already. Unknown directives are kept literally, so parsing
// fails loudly rather than reading wrong values.
func goLayout(format string) string {
	if !strings.Contains(format, "%") {
		return format
	}
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] == '%' && i+1 < len(format) {
			if g, ok := strftimeToGo[format[i+1]]; ok {
				b.WriteString(g)
				i++
				continue
			}
		}
		b.WriteByte(format[i])
	}
	return b.String()
}
