package spec

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/agext/levenshtein"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// stdFunctions are the cty stdlib functions the language offers. The set
// is deliberately free of functions that can allocate without bound from a
// small input (range), so validating an untrusted configuration stays cheap.
func stdFunctions() map[string]function.Function {
	return map[string]function.Function{
		"abs":             stdlib.AbsoluteFunc,
		"ceil":            stdlib.CeilFunc,
		"chomp":           stdlib.ChompFunc,
		"coalesce":        stdlib.CoalesceFunc,
		"coalescelist":    stdlib.CoalesceListFunc,
		"compact":         stdlib.CompactFunc,
		"concat":          stdlib.ConcatFunc,
		"contains":        stdlib.ContainsFunc,
		"distinct":        stdlib.DistinctFunc,
		"element":         stdlib.ElementFunc,
		"flatten":         stdlib.FlattenFunc,
		"floor":           stdlib.FloorFunc,
		"format":          stdlib.FormatFunc,
		"formatdate":      stdlib.FormatDateFunc,
		"formatlist":      stdlib.FormatListFunc,
		"indent":          stdlib.IndentFunc,
		"index":           stdlib.IndexFunc,
		"join":            stdlib.JoinFunc,
		"jsondecode":      stdlib.JSONDecodeFunc,
		"jsonencode":      stdlib.JSONEncodeFunc,
		"keys":            stdlib.KeysFunc,
		"length":          stdlib.LengthFunc,
		"lookup":          stdlib.LookupFunc,
		"lower":           stdlib.LowerFunc,
		"max":             stdlib.MaxFunc,
		"merge":           stdlib.MergeFunc,
		"min":             stdlib.MinFunc,
		"parseint":        stdlib.ParseIntFunc,
		"regex":           stdlib.RegexFunc,
		"regexall":        stdlib.RegexAllFunc,
		"regex_replace":   stdlib.RegexReplaceFunc,
		"replace":         stdlib.ReplaceFunc,
		"reverse":         stdlib.ReverseListFunc,
		"setintersection": stdlib.SetIntersectionFunc,
		"setunion":        stdlib.SetUnionFunc,
		"slice":           stdlib.SliceFunc,
		"sort":            stdlib.SortFunc,
		"split":           stdlib.SplitFunc,
		"strlen":          stdlib.StrlenFunc,
		"strrev":          stdlib.ReverseFunc,
		"substr":          stdlib.SubstrFunc,
		"timeadd":         stdlib.TimeAddFunc,
		"title":           stdlib.TitleFunc,
		"tobool":          stdlib.MakeToFunc(cty.Bool),
		"tolist":          stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":           stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"tonumber":        stdlib.MakeToFunc(cty.Number),
		"toset":           stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tostring":        stdlib.MakeToFunc(cty.String),
		"trim":            stdlib.TrimFunc,
		"trimprefix":      stdlib.TrimPrefixFunc,
		"trimspace":       stdlib.TrimSpaceFunc,
		"trimsuffix":      stdlib.TrimSuffixFunc,
		"upper":           stdlib.UpperFunc,
		"values":          stdlib.ValuesFunc,
		"zipmap":          stdlib.ZipmapFunc,
	}
}

// FunctionNames lists every function a configuration may call, sorted
// (docs/language.md and `sluice fmt` tooling use it).
func FunctionNames() []string {
	names := []string{"file", "schema_file"}
	for n := range stdFunctions() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// functionsFor returns the function table for expressions written in
// filename: file() and schema_file() resolve relative paths against that
// file's directory, so each directory gets its own closures.
func (l *loader) functionsFor(filename string) map[string]function.Function {
	dir := filepath.Dir(filename)
	if f, ok := l.funcs[dir]; ok {
		return f
	}
	f := stdFunctions()
	f["file"] = l.fileFunc(dir)
	f["schema_file"] = l.schemaFileFunc(dir)
	l.funcs[dir] = f
	return f
}

func resolvePath(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

func (l *loader) fileFunc(dir string) function.Function {
	return function.New(&function.Spec{
		Description: "Reads a UTF-8 text file, relative to the calling file's directory.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p := resolvePath(dir, args[0].AsString())
			data, err := readLimited(p)
			if err != nil {
				return cty.NilVal, function.NewArgErrorf(0, "cannot read %s: %s", p, trimPathErr(err))
			}
			if !utf8.Valid(data) {
				return cty.NilVal, function.NewArgErrorf(0, "%s is not UTF-8 text", p)
			}
			l.extra[p] = data
			return cty.StringVal(string(data)), nil
		},
	})
}

// schemaRefType is the value schema_file returns: a reference to a
// schema the loader decoded and registered in Config.Schemas.
var schemaRefType = cty.Object(map[string]cty.Type{"schema_name": cty.String, "schema_file": cty.String})

func (l *loader) schemaFileFunc(dir string) function.Function {
	return function.New(&function.Spec{
		Description: "Loads a schema file, relative to the calling file's directory; the optional name picks one of several schemas.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		VarParam:    &function.Parameter{Name: "name", Type: cty.String},
		Type:        function.StaticReturnType(schemaRefType),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if len(args) > 2 {
				return cty.NilVal, function.NewArgErrorf(2, "schema_file takes a path and at most one schema name")
			}
			p := resolvePath(dir, args[0].AsString())
			sf := l.loadSchemaFile(p)
			if sf.reported {
				// Its errors are reported where they are; one more here,
				// vaguer, would only repeat them.
				return cty.UnknownVal(schemaRefType), nil
			}
			if sf.err != nil {
				return cty.NilVal, function.NewArgError(0, sf.err)
			}
			var name string
			switch {
			case len(args) == 2:
				name = args[1].AsString()
				if _, ok := sf.schemas[name]; !ok {
					return cty.NilVal, function.NewArgErrorf(1, "%s declares no schema named %q; it declares %s", filepath.Base(p), name, quoteList(sf.names))
				}
			case len(sf.names) == 1:
				name = sf.names[0]
			case len(sf.names) == 0:
				return cty.NilVal, function.NewArgErrorf(0, "%s declares no schema block", filepath.Base(p))
			default:
				return cty.NilVal, function.NewArgErrorf(0, "%s declares %d schemas (%s); name the one to use: schema_file(%q, %q)", filepath.Base(p), len(sf.names), quoteList(sf.names), args[0].AsString(), sf.names[0])
			}
			return cty.ObjectVal(map[string]cty.Value{
				"schema_name": cty.StringVal(name),
				"schema_file": cty.StringVal(l.relName(p)),
			}), nil
		},
	})
}

func trimPathErr(err error) string {
	s := err.Error()
	// os errors repeat the path ("open /x/y: no such file"); keep the reason.
	if i := strings.LastIndex(s, ": "); i >= 0 && (strings.HasPrefix(s, "open ") || strings.HasPrefix(s, "stat ")) {
		return s[i+2:]
	}
	return s
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

// suggestion returns ` Did you mean "x"?` for the closest option within a
// small edit distance, or "".
func suggestion(given string, options []string) string {
	best, bestD := "", 3
	for _, o := range options {
		d := levenshtein.Distance(strings.ToLower(given), strings.ToLower(o), nil)
		if d < bestD {
			best, bestD = o, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}
