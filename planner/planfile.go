package planner

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// A plan file is gzip-compressed NDJSON, written and read as a stream so a
// plan of a million inputs neither builds one huge JSON value nor parses
// one:
//
//	{"format":"sluice-plan","format_version":"1.0"}
//	{"plan":{…the Plan, without inputs…}}
//	{"pipeline":0,"inputs":N}        then N lines {"k":rel key,"s":size,"e":etag[,"g":[row groups]]}
//	…one such block per pipeline…
//	{"sha256":"…"}                   over every byte of the lines above
//
// The checksum detects a truncated or altered file; the version line lets
// a newer sluice's file be refused before anything else is read.

const planFileFormat = "sluice-plan"

type planFileHeader struct {
	Format        string `json:"format"`
	FormatVersion string `json:"format_version"`
}

type planFileInputs struct {
	Pipeline int `json:"pipeline"`
	Inputs   int `json:"inputs"`
}

// appendInputLine appends {"k":rel,"s":size,"e":etag[,"g":[…]|,"n":true]}.
func appendInputLine(b []byte, i int, rel []byte, size int64, etag []byte, rowGroups map[int][]int) []byte {
	b = append(b, `{"k":`...)
	b = appendJSONString(b, rel)
	b = append(b, `,"s":`...)
	b = strconv.AppendInt(b, size, 10)
	b = append(b, `,"e":`...)
	b = appendJSONString(b, etag)
	if rg, ok := rowGroups[i]; ok {
		if len(rg) == 0 {
			b = append(b, `,"n":true`...)
		} else {
			b = append(b, `,"g":[`...)
			for k, g := range rg {
				if k > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendInt(b, int64(g), 10)
			}
			b = append(b, ']')
		}
	}
	return append(b, "}\n"...)
}

// appendJSONString quotes s as a JSON string (UTF-8 kept as is).
func appendJSONString(b, s []byte) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

type planFileSum struct {
	SHA256 string `json:"sha256"`
}

// Encode writes p as a plan file.
func Encode(w io.Writer, p *Plan) error {
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(zw, h), 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(planFileHeader{Format: planFileFormat, FormatVersion: FormatVersion}); err != nil {
		return err
	}
	if err := enc.Encode(struct {
		Plan *Plan `json:"plan"`
	}{p}); err != nil {
		return fmt.Errorf("planner: encode plan: %w", err)
	}
	for i, pp := range p.Pipelines {
		n := pp.NumInputs()
		if err := enc.Encode(planFileInputs{Pipeline: i, Inputs: n}); err != nil {
			return err
		}
		// Input lines are written by hand: reflection per line would
		// dominate the cost of a million-input plan.
		var line []byte
		var werr error
		pp.inputs.Each(func(j int, rel []byte, size int64, etag []byte) bool {
			line = appendInputLine(line[:0], j, rel, size, etag, pp.rowGroups)
			_, werr = bw.Write(line)
			return werr == nil
		})
		if werr != nil {
			return werr
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	sum := planFileSum{SHA256: hex.EncodeToString(h.Sum(nil))}
	if err := json.NewEncoder(zw).Encode(sum); err != nil {
		return err
	}
	return zw.Close()
}

// ErrCorruptPlan is wrapped by Decode's errors for damaged files.
var ErrCorruptPlan = errors.New("plan file is corrupt")

// Decode reads a plan file written by Encode.
func Decode(r io.Reader) (*Plan, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: not a gzip stream: %v", ErrCorruptPlan, err)
	}
	defer zr.Close()
	br := bufio.NewReaderSize(zr, 64<<10)
	h := sha256.New()
	d := &lineReader{r: br, h: h}

	var hdr planFileHeader
	if err := d.next(&hdr); err != nil {
		return nil, err
	}
	if hdr.Format != planFileFormat {
		return nil, fmt.Errorf("%w: not a sluice plan file", ErrCorruptPlan)
	}
	if err := checkVersion(hdr.FormatVersion); err != nil {
		return nil, err
	}
	var body struct {
		Plan *Plan `json:"plan"`
	}
	if err := d.next(&body); err != nil {
		return nil, err
	}
	p := body.Plan
	if p == nil {
		return nil, fmt.Errorf("%w: missing plan", ErrCorruptPlan)
	}
	for i, pp := range p.Pipelines {
		var blk planFileInputs
		if err := d.next(&blk); err != nil {
			return nil, err
		}
		if blk.Pipeline != i || blk.Inputs < 0 {
			return nil, fmt.Errorf("%w: input block %d out of order", ErrCorruptPlan, i)
		}
		pp.inputs = NewInputs(pp.Source.Prefix, pp.Source.Partitions)
		var jp fastjson.Parser
		for j := 0; j < blk.Inputs; j++ {
			b, err := d.raw()
			if err != nil {
				return nil, err
			}
			v, err := jp.ParseBytes(b)
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: %v", ErrCorruptPlan, d.line, err)
			}
			pp.inputs.AddBytes(v.GetStringBytes("k"), v.GetInt64("s"), v.GetStringBytes("e"))
			rgv := v.Get("g")
			if rgv != nil || v.GetBool("n") {
				if pp.rowGroups == nil {
					pp.rowGroups = map[int][]int{}
				}
				rg := []int{}
				if rgv != nil {
					for _, x := range rgv.GetArray() {
						rg = append(rg, x.GetInt())
					}
				}
				pp.rowGroups[j] = rg
			}
		}
		for _, t := range pp.Tasks {
			for _, k := range t.Inputs {
				if int(k) < 0 || int(k) >= blk.Inputs {
					return nil, fmt.Errorf("%w: task %d names input %d of %d", ErrCorruptPlan, t.ID, k, blk.Inputs)
				}
			}
		}
	}
	want := hex.EncodeToString(h.Sum(nil))
	d.h = nil
	var sum planFileSum
	if err := d.next(&sum); err != nil {
		return nil, err
	}
	if sum.SHA256 != want {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorruptPlan)
	}
	return p, nil
}

// checkVersion refuses a plan file of a newer major version.
func checkVersion(v string) error {
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return fmt.Errorf("%w: bad format version %q", ErrCorruptPlan, v)
	}
	mine, _, _ := strings.Cut(FormatVersion, ".")
	m, _ := strconv.Atoi(mine)
	if n > m {
		return fmt.Errorf("plan file format version %s is newer than version %s, which this sluice reads: upgrade sluice or re-plan", v, FormatVersion)
	}
	return nil
}

// lineReader reads one JSON line at a time, hashing the raw bytes.
type lineReader struct {
	r    *bufio.Reader
	h    hash.Hash
	line int
}

// raw returns the next line (valid until the next call), hashed.
func (d *lineReader) raw() ([]byte, error) {
	b, err := d.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		// A line longer than the buffer (the plan line): gather it.
		long := append([]byte(nil), b...)
		for err == bufio.ErrBufferFull {
			b, err = d.r.ReadSlice('\n')
			long = append(long, b...)
		}
		b = long
	}
	d.line++
	if err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("%w: truncated at line %d", ErrCorruptPlan, d.line)
		}
		return nil, fmt.Errorf("%w: line %d: %v", ErrCorruptPlan, d.line, err)
	}
	if d.h != nil {
		d.h.Write(b)
	}
	return b, nil
}

func (d *lineReader) next(v any) error {
	b, err := d.raw()
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: line %d: %v", ErrCorruptPlan, d.line, err)
	}
	return nil
}
