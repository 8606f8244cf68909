package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/sluicedata/sluice/spec/schema"
)

// LoadOptions are the inputs to a configuration that do not live in its files.
type LoadOptions struct {
	Vars     []string // "name=value" from -var, in command-line order
	VarFiles []string // -var-file paths, in order; *.json is JSON, anything else HCL
	Environ  []string // os.Environ() form; SLUICE_VAR_name=value entries set variables
	// WorkDir is where relative paths in variable values given on the
	// command line, in a -var-file or in the environment resolve ("":
	// the process's working directory). Relative paths written in the
	// configuration resolve against the file that writes them.
	WorkDir string
}

// Defaults and limits of the language (docs/language.md).
const (
	DefaultTaskBytes      int64 = 128 << 20
	DefaultMaxRecordBytes int64 = 16 << 20
	DefaultTargetFileSize int64 = 128 << 20
	DefaultRowGroupSize   int64 = 64 << 20
	// WriterPartSize is the multipart part size sinks upload with; with
	// S3's limit of MaxUploadParts parts it bounds target_file_size.
	WriterPartSize int64 = 16 << 20
	// MaxUploadParts is S3's limit on the parts of one multipart upload.
	MaxUploadParts = 10000
	// MinTargetFileSize keeps outputs from degenerating into the small
	// files sluice exists to clean up.
	MinTargetFileSize int64 = 1 << 20

	// maxReadBytes caps what file() and schema_file() read, so that a
	// configuration naming a device or a huge file fails instead of hanging.
	maxReadBytes = 16 << 20
)

// loader holds the state of one Load call. Diagnostics accumulate in diags;
// decoding continues past errors so that one validate run reports them all.
type loader struct {
	cfg    *Config
	opts   LoadOptions
	parser *hclparse.Parser
	diags  hcl.Diagnostics

	srcs  map[string][]byte // configuration file → bytes
	extra map[string][]byte // files read by file() and schema_file(), for the digest

	vars   map[string]*varDecl
	varObj cty.Value

	locals map[string]*localDecl

	schemaFiles map[string]*schemaFile // absolute path → decoded schemas

	// Ranges the cross-block checks point at, which Config does not keep.
	sinkURLRange   map[*Sink]hcl.Range
	sourceURLRange map[*Source]hcl.Range
	stateURLRange  *hcl.Range // nil: the default state location
	boundedRange   map[*Source]hcl.Range
	funcs          map[string]map[string]function.Function
}

// Load reads and decodes the configuration in dir. The returned Config is
// partial when the diagnostics hold errors; callers must check
// diags.HasErrors() before using it. Load never panics on any input.
func Load(dir string, opts LoadOptions) (*Config, hcl.Diagnostics) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = filepath.Clean(dir)
	}
	cfg := &Config{
		Dir:       abs,
		Variables: map[string]*Variable{},
		Schemas:   map[string]*schema.Schema{},
	}
	l := &loader{
		cfg:            cfg,
		opts:           opts,
		parser:         hclparse.NewParser(),
		srcs:           map[string][]byte{},
		extra:          map[string][]byte{},
		vars:           map[string]*varDecl{},
		locals:         map[string]*localDecl{},
		schemaFiles:    map[string]*schemaFile{},
		sinkURLRange:   map[*Sink]hcl.Range{},
		sourceURLRange: map[*Source]hcl.Range{},
		boundedRange:   map[*Source]hcl.Range{},
		funcs:          map[string]map[string]function.Function{},
	}
	l.load()
	cfg.Sources = map[string][]byte{}
	for n, b := range l.srcs {
		cfg.Sources[n] = b
	}
	for n, b := range l.extra {
		cfg.Sources[n] = b
	}
	for n, f := range l.parser.Files() {
		cfg.Sources[n] = f.Bytes
	}
	l.diags = redactDiags(cfg, l.diags)
	return cfg, l.diags
}

func (l *loader) errorf(subject *hcl.Range, summary, detailFormat string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(detailFormat, args...),
		Subject:  subject,
	})
}

func (l *loader) warnf(subject *hcl.Range, summary, detailFormat string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{
		Severity: hcl.DiagWarning,
		Summary:  summary,
		Detail:   fmt.Sprintf(detailFormat, args...),
		Subject:  subject,
	})
}

// configFiles lists the configuration files of dir, sorted by name.
func configFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".hcl") ||
			strings.HasSuffix(n, ".test.hcl") || strings.HasSuffix(n, ".vars.hcl") ||
			strings.HasPrefix(n, ".") {
			continue
		}
		out = append(out, filepath.Join(dir, n))
	}
	sort.Strings(out)
	return out, nil
}

func (l *loader) load() {
	cfg := l.cfg
	files, err := configFiles(cfg.Dir)
	if err != nil {
		l.errorf(nil, "Cannot read configuration directory",
			"%s. Run sluice in a directory holding *.hcl pipeline files, or pass the directory as an argument.", err)
		return
	}
	if len(files) == 0 {
		l.errorf(nil, "No configuration files",
			"%s holds no *.hcl files (files ending in .test.hcl and .vars.hcl do not count). Run sluice in the directory of your pipeline files, or pass it as an argument.", cfg.Dir)
		return
	}
	cfg.Files = files

	var bodies []*hcl.File
	for _, name := range files {
		f, d := l.parser.ParseHCLFile(name)
		l.diags = append(l.diags, d...)
		if f != nil {
			l.srcs[name] = f.Bytes
			bodies = append(bodies, f)
		}
	}
	if l.diags.HasErrors() {
		// Decoding a file that did not parse reports noise, not mistakes.
		return
	}

	var varBlocks, localBlocks, stateBlocks, pipeBlocks, movedBlocks, catalogBlocks []*hcl.Block
	for _, f := range bodies {
		content, d := f.Body.Content(rootSchema)
		l.diags = append(l.diags, d...)
		for _, b := range content.Blocks {
			switch b.Type {
			case "variable":
				varBlocks = append(varBlocks, b)
			case "locals":
				localBlocks = append(localBlocks, b)
			case "state":
				stateBlocks = append(stateBlocks, b)
			case "pipeline":
				pipeBlocks = append(pipeBlocks, b)
			case "moved":
				movedBlocks = append(movedBlocks, b)
			case "catalog":
				catalogBlocks = append(catalogBlocks, b)
			}
		}
	}

	l.declareVariables(varBlocks)
	l.resolveVariables()
	l.declareLocals(localBlocks)
	l.evalLocals()
	l.decodeState(stateBlocks)
	l.decodeCatalogs(catalogBlocks)
	l.decodePipelines(pipeBlocks)
	l.decodeMoved(movedBlocks)
	l.checkSinkOverlap()
	l.checkLocations()
	l.checkStateLocation()
	cfg.Digest = l.digest()
}

// digest hashes the configuration files, the files they read and the
// resolved variable values, each framed by name and length so that moving
// bytes between files changes the digest.
func (l *loader) digest() string {
	h := sha256.New()
	write := func(kind, name string, data []byte) {
		fmt.Fprintf(h, "%s %q %d\n", kind, name, len(data))
		h.Write(data)
		h.Write([]byte{'\n'})
	}
	names := make([]string, 0, len(l.srcs))
	for n := range l.srcs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		write("file", l.relName(n), l.srcs[n])
	}
	names = names[:0]
	for n := range l.extra {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		write("read", l.relName(n), l.extra[n])
	}
	vnames := make([]string, 0, len(l.cfg.Variables))
	for n := range l.cfg.Variables {
		vnames = append(vnames, n)
	}
	sort.Strings(vnames)
	for _, n := range vnames {
		v := l.cfg.Variables[n].Value
		var buf []byte
		if v != cty.NilVal && v.IsWhollyKnown() {
			b, err := ctyjson.Marshal(v, v.Type())
			if err == nil {
				buf = b
			}
		}
		write("var", n, buf)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// relName names a file relative to the configuration directory when it is
// inside it, so that the digest does not change when the checkout moves.
func (l *loader) relName(p string) string {
	if r, err := filepath.Rel(l.cfg.Dir, p); err == nil {
		return filepath.ToSlash(r)
	}
	return p
}

// readLimited reads a regular file of at most maxReadBytes.
func readLimited(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if st.Size() > maxReadBytes {
		return nil, fmt.Errorf("%s is larger than %s", path, FormatSize(maxReadBytes))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) > maxReadBytes {
		return nil, fmt.Errorf("%s is larger than %s", path, FormatSize(maxReadBytes))
	}
	return data, nil
}

// Redact replaces every value of a sensitive variable in s with
// "(sensitive)". Plans, logs and errors pass text through it.
func (c *Config) Redact(s string) string {
	if c == nil {
		return s
	}
	for _, secret := range c.secrets() {
		s = strings.ReplaceAll(s, secret, "(sensitive)")
	}
	return s
}

// secrets lists the string forms of sensitive values, longest first so
// that a secret containing another is replaced whole.
func (c *Config) secrets() []string {
	var out []string
	for _, v := range c.Variables {
		if !v.Sensitive || v.Value == cty.NilVal {
			continue
		}
		collectStrings(v.Value, &out)
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

func collectStrings(v cty.Value, out *[]string) {
	if v.IsNull() || !v.IsKnown() {
		return
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		if s := v.AsString(); s != "" {
			*out = append(*out, s)
		}
	case ty == cty.Number:
		// Short numbers would redact unrelated digits (line numbers).
		if t := v.AsBigFloat().Text('f', -1); len(t) >= 4 {
			*out = append(*out, t)
		}
	case ty.IsCollectionType() || ty.IsObjectType() || ty.IsTupleType():
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			collectStrings(e, out)
		}
	}
}

// redactDiags passes every diagnostic's text through cfg.Redact: a safety
// net under the decoders, which already print "(sensitive)" themselves.
func redactDiags(cfg *Config, diags hcl.Diagnostics) hcl.Diagnostics {
	if len(cfg.secrets()) == 0 {
		return diags
	}
	for _, d := range diags {
		d.Summary = cfg.Redact(d.Summary)
		d.Detail = cfg.Redact(d.Detail)
	}
	return diags
}

// show renders a user value for a diagnostic, hiding it when it derives
// from a sensitive variable.
func show(s string, sensitive bool) string {
	if sensitive {
		return "(sensitive)"
	}
	return fmt.Sprintf("%q", s)
}
