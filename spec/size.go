package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeUnits maps a unit suffix to its multiplier. Binary units (KiB…TiB)
// and decimal units (KB…TB) are both accepted because users copy sizes from
// both worlds (S3 documents MiB, dashboards show MB); the spelling decides.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// ParseSize parses a byte size: a bare non-negative integer ("4096") is
// bytes; a number followed by KiB, MiB, GiB, TiB (binary) or KB, MB, GB, TB
// (decimal) or B, optionally separated by one space. The number may have a
// fractional part when a unit is given ("1.5GiB"); the result is truncated
// to whole bytes. Unit spelling is case-sensitive so that "mb" is never
// silently read as megabytes.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("empty size")
	}
	num, mult := t, int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	if num == "" {
		return 0, fmt.Errorf("%q has a unit but no number", s)
	}
	for _, r := range num {
		if (r < '0' || r > '9') && r != '.' {
			return 0, fmt.Errorf("%q is not a number followed by a unit", s)
		}
	}
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is larger than sluice can count (8 EiB)", s)
		}
		if n > math.MaxInt64/mult {
			return 0, fmt.Errorf("%q is larger than sluice can count (8 EiB)", s)
		}
		return n * mult, nil
	}
	if mult == 1 {
		return 0, fmt.Errorf("%q: a fractional number of bytes needs a unit such as MiB", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a number followed by a unit", s)
	}
	v := f * float64(mult)
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is larger than sluice can count (8 EiB)", s)
	}
	return int64(v), nil
}

// FormatSize renders n with the largest binary unit that divides it exactly,
// so that ParseSize(FormatSize(n)) == n.
func FormatSize(n int64) string {
	for i := 3; i >= 0; i-- {
		u := sizeUnits[i]
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
