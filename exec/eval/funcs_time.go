package eval

import (
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// Time functions compute on the int64 (timestamp) and int32 (date) values
// directly: civil dates with predicate.CivilFromDays/DaysFromCivil, no
// time.Time per row, except to read a timezone's offset (cached per
// zone period) and to place a local time in a timezone. Every result that
// does not fit its type is null, as integer overflow is.

type timeNode struct {
	fn    predicate.Func
	name  string
	try   bool
	args  []node
	types []schema.Type // IR types of the arguments
	dt    arrow.DataType
	tf    *predicate.TimeFormat
	loc   *time.Location // nil: UTC
	part  predicate.DatePart
}

func (t *timeNode) dataType() arrow.DataType { return t.dt }

func (c *compiler) timeFn(e *predicate.Apply, args []node) (node, error) {
	dt, err := literalType(e.Typ)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e, err)
	}
	t := &timeNode{fn: e.Fn, name: e.Name(), try: e.Try, args: args, dt: dt}
	for _, a := range e.Args {
		t.types = append(t.types, a.Type())
	}
	partArg := -1
	switch e.Fn {
	case predicate.ParseTimestampFn:
		if t.tf, err = predicate.CompileTimeFormat(e.StringArg(1)); err != nil {
			return nil, fmt.Errorf("%s: %w", e, err)
		}
		if len(e.Args) > 2 {
			if t.loc, err = predicate.LoadLocation(e.StringArg(2)); err != nil {
				return nil, fmt.Errorf("%s: %w", e, err)
			}
		}
	case predicate.ToTimezone:
		if t.loc, err = predicate.LoadLocation(e.StringArg(1)); err != nil {
			return nil, fmt.Errorf("%s: %w", e, err)
		}
	case predicate.Trunc:
		partArg = 1
	case predicate.DateAdd, predicate.DateDiff:
		partArg = 2
	}
	if t.loc == time.UTC {
		t.loc = nil
	}
	if partArg >= 0 {
		p, ok := predicate.ParseDatePart(e.StringArg(partArg))
		if !ok {
			return nil, fmt.Errorf("%s: unknown unit %q", e, e.StringArg(partArg))
		}
		t.part = p
	}
	for i, a := range args {
		if i == partArg || (e.Fn == predicate.ParseTimestampFn || e.Fn == predicate.ToTimezone) && i > 0 {
			continue
		}
		if !columnTypeOK(t.types[i], a.dataType()) && !(t.types[i].IsInteger() && a.dataType().ID() == arrow.INT64) &&
			!(t.types[i].IsFloat() && a.dataType().ID() == arrow.FLOAT64) {
			return nil, fmt.Errorf("%s: argument %d is %s, not %s", e, i+1, a.dataType(), t.types[i])
		}
	}
	return t, nil
}

// perSec is how many units of a timestamp type make a second.
func perSec(t schema.Type) int64 { return t.Unit.PerSecond() }

func (t *timeNode) eval(ec *evalCtx) (arrow.Array, error) {
	if nullConst(t.args) {
		return allNull(ec, t.dt, t.args)
	}
	arrs, err := evalArgs(ec, t.args)
	if err != nil {
		return nil, err
	}
	defer releaseAll(arrs)
	// The kernels read the time operands as arrays: a constant one (a
	// literal the planner did not fold away) is materialised.
	for i := range min(len(arrs), 2) {
		if arrs[i] == nil && (i == 0 || t.fn == predicate.DateDiff) {
			if arrs[i], err = t.args[i].eval(ec); err != nil {
				return nil, err
			}
		}
	}
	n := ec.n
	valid := argValidity(ec.mem, n, arrs)
	vb := valid.Bytes()
	x := arrs[0]
	xt := t.types[0]
	date := xt.Kind == schema.Date
	switch t.fn {
	case predicate.ParseTimestampFn:
		s := bytesArgOf(x, t.args[0])
		var zone *predicate.LocalZone
		if t.loc != nil {
			zone = &predicate.LocalZone{Loc: t.loc}
		}
		buf, out := newFixed[int64](ec.mem, n)
		var c predicate.Civil
		for i := range out {
			if !bitAt(vb, i) {
				continue
			}
			reason := t.tf.Parse(s.at(i), &c)
			if reason != "" {
				clearBit(vb, i)
				if !t.try {
					ec.addRowError(i, predicate.NewValueError(t.name, string(s.at(i)), reason))
				}
				continue
			}
			out[i] = civilToMicros(&c, zone)
		}
		return makeArray(t.dt, n, dropAllValid(valid, n), buf), nil
	case predicate.FromUnixtime, predicate.FromUnixtimeMs:
		k := int64(1e6)
		if t.fn == predicate.FromUnixtimeMs {
			k = 1e3
		}
		buf, out := newFixed[int64](ec.mem, n)
		if x.DataType().ID() == arrow.FLOAT64 {
			for i, f := range valuesOf[float64](x) {
				r := math.Round(f * float64(k))
				if math.IsNaN(r) || r < -(1<<63) || r >= 1<<63 {
					clearBit(vb, i)
					continue
				}
				out[i] = int64(r)
			}
		} else {
			for i, v := range valuesOf[int64](x) {
				r, ok := mulCheck(v, k)
				if !ok {
					clearBit(vb, i)
				}
				out[i] = r
			}
		}
		return makeArray(t.dt, n, dropAllValid(valid, n), buf), nil
	case predicate.Year, predicate.Month, predicate.Day, predicate.Hour, predicate.Minute, predicate.Second:
		buf, out := newFixed[int64](ec.mem, n)
		if date {
			for i, d := range valuesOf[int32](x) {
				y, m, dd := predicate.CivilFromDays(int64(d))
				out[i] = pickField(t.fn, y, m, dd, 0)
			}
		} else {
			perDay := 86400 * perSec(xt)
			ps := perSec(xt)
			for i, v := range valuesOf[int64](x) {
				days := predicate.FloorDiv(v, perDay)
				tod := (v - days*perDay) / ps // seconds into the day
				var y, m, dd int64
				if t.fn <= predicate.Day {
					y, m, dd = predicate.CivilFromDays(days)
				}
				out[i] = pickField(t.fn, y, m, dd, tod)
			}
		}
		return makeArray(t.dt, n, dropAllValid(valid, n), buf), nil
	case predicate.Trunc:
		if date {
			buf, out := newFixed[int32](ec.mem, n)
			for i, d := range valuesOf[int32](x) {
				r := truncDays(int64(d), t.part)
				if r < math.MinInt32 {
					clearBit(vb, i) // before the first date: null, as overflow
				}
				out[i] = int32(r)
			}
			return makeArray(t.dt, n, dropAllValid(valid, n), buf), nil
		}
		buf, out := newFixed[int64](ec.mem, n)
		ps := perSec(xt)
		if step := t.part.Seconds() * ps; step > 0 {
			for i, v := range valuesOf[int64](x) {
				r, ok := mulCheck(predicate.FloorDiv(v, step), step)
				if !ok {
					clearBit(vb, i)
				}
				out[i] = r
			}
		} else {
			perDay := 86400 * ps
			for i, v := range valuesOf[int64](x) {
				r, ok := mulCheck(truncDays(predicate.FloorDiv(v, perDay), t.part), perDay)
				if !ok {
					clearBit(vb, i)
				}
				out[i] = r
			}
		}
		return makeArray(t.dt, n, dropAllValid(valid, n), buf), nil
	case predicate.DateAdd:
		k := intArgOf(arrs[1], t.args[1])
		if date {
			buf, out := newFixed[int32](ec.mem, n)
			for i, d := range valuesOf[int32](x) {
				if !bitAt(vb, i) {
					continue
				}
				r, ok := addDays(int64(d), k.at(i), t.part)
				if !ok || r < math.MinInt32 || r > math.MaxInt32 {
					clearBit(vb, i)
					continue
				}
				out[i] = int32(r)
			}
			return makeArray(t.dt, n, dropAllValid(valid, n), buf), nil
		}
		buf, out := newFixed[int64](ec.mem, n)
		ps := perSec(xt)
		perDay := 86400 * ps
		for i, v := range valuesOf[int64](x) {
			if !bitAt(vb, i) {
				continue
			}
			var r int64
			ok := false
			if step := t.part.Seconds() * ps; step > 0 {
				r, ok = addMul(v, k.at(i), step)
			} else {
				days := predicate.FloorDiv(v, perDay)
				// v plus the days added (not days*perDay + time of day,
				// which can overflow at the edge of the range).
				if nd, ok1 := addDays(days, k.at(i), t.part); ok1 {
					r, ok = addMul(v, nd-days, perDay)
				}
			}
			if !ok {
				clearBit(vb, i)
				continue
			}
			out[i] = r
		}
		return makeArray(t.dt, n, dropAllValid(valid, n), buf), nil
	case predicate.DateDiff:
		buf, out := newFixed[int64](ec.mem, n)
		a, b := dayTime(x, xt), dayTime(arrs[1], t.types[1])
		for i := range out {
			if !bitAt(vb, i) {
				continue
			}
			da, sa := a.at(i)
			db, sb := b.at(i)
			switch t.part {
			case predicate.PartYear, predicate.PartMonth:
				ya, ma, _ := predicate.CivilFromDays(da)
				yb, mb, _ := predicate.CivilFromDays(db)
				if t.part == predicate.PartYear {
					out[i] = yb - ya
				} else {
					out[i] = (yb*12 + mb) - (ya*12 + ma)
				}
			default:
				// seconds since the epoch fit an int64 for every timestamp
				step := t.part.Seconds()
				out[i] = predicate.FloorDiv(db*86400+sb, step) - predicate.FloorDiv(da*86400+sa, step)
			}
		}
		return makeArray(t.dt, n, dropAllValid(valid, n), buf), nil
	case predicate.ToTimezone:
		buf, out := newFixed[int64](ec.mem, n)
		ps := perSec(xt)
		var z zoneCache
		for i, v := range valuesOf[int64](x) {
			if !bitAt(vb, i) {
				continue
			}
			off := z.offset(t.loc, predicate.FloorDiv(v, ps))
			d, ok1 := mulCheck(off, ps)
			r, ok2 := addCheck(v, d)
			if !ok1 || !ok2 {
				clearBit(vb, i)
				continue
			}
			out[i] = r
		}
		return makeArray(t.dt, n, dropAllValid(valid, n), buf), nil
	}
	valid.Release()
	return nil, fmt.Errorf("%s: unknown time function", t.name)
}

// civilToMicros places a parsed date and time: at its own offset, else in
// the function's timezone (predicate.LocalZone, whose rules for DST gaps
// and overlaps the reference shares), else in UTC, by arithmetic.
func civilToMicros(c *predicate.Civil, z *predicate.LocalZone) int64 {
	sec := predicate.DaysFromCivil(int64(c.Year), int64(c.Month), int64(c.Day))*86400 +
		int64(c.Hour*3600+c.Min*60+c.Sec) - int64(c.Offset)
	if !c.HasOffset && z != nil {
		sec = z.ToUTC(sec)
	}
	return sec*1e6 + int64(c.Nsec/1000)
}

func pickField(fn predicate.Func, y, m, d, tod int64) int64 {
	switch fn {
	case predicate.Year:
		return y
	case predicate.Month:
		return m
	case predicate.Day:
		return d
	case predicate.Hour:
		return tod / 3600
	case predicate.Minute:
		return tod / 60 % 60
	}
	return tod % 60
}

// truncDays truncates a day count to the first day of its month or year.
func truncDays(days int64, p predicate.DatePart) int64 {
	switch p {
	case predicate.PartYear:
		y, _, _ := predicate.CivilFromDays(days)
		return predicate.DaysFromCivil(y, 1, 1)
	case predicate.PartMonth:
		y, m, _ := predicate.CivilFromDays(days)
		return predicate.DaysFromCivil(y, m, 1)
	}
	return days
}

// maxYears matches the reference's bound on month arithmetic.
const maxYears = 100_000_000

// addDays adds n parts (day, month or year) to a day count; a month or
// year keeps the day of the month, clamped to the last day of the result.
func addDays(days, n int64, p predicate.DatePart) (int64, bool) {
	switch p {
	case predicate.PartDay:
		return addCheck(days, n)
	case predicate.PartMonth, predicate.PartYear:
		if p == predicate.PartYear {
			var ok bool
			if n, ok = mulCheck(n, 12); !ok {
				return 0, false
			}
		}
		y, m, d := predicate.CivilFromDays(days)
		mo, ok := addCheck(y*12+m-1, n)
		if !ok {
			return 0, false
		}
		ny, nm := predicate.FloorDiv(mo, 12), mo-predicate.FloorDiv(mo, 12)*12+1
		if ny > maxYears || ny < -maxYears {
			return 0, false
		}
		nd := min(d, int64(predicate.DaysIn(int(ny), int(nm))))
		return predicate.DaysFromCivil(ny, nm, nd), true
	}
	return 0, false
}

// dayTimes reads a date or timestamp column as (days, seconds into the day).
type dayTimes struct {
	dates []int32
	ts    []int64
	per   int64
}

func dayTime(a arrow.Array, t schema.Type) dayTimes {
	if t.Kind == schema.Date {
		return dayTimes{dates: valuesOf[int32](a)}
	}
	return dayTimes{ts: valuesOf[int64](a), per: perSec(t)}
}

func (d dayTimes) at(i int) (days, secs int64) {
	if d.dates != nil {
		return int64(d.dates[i]), 0
	}
	sec := predicate.FloorDiv(d.ts[i], d.per)
	days = predicate.FloorDiv(sec, 86400)
	return days, sec - days*86400
}

// zoneCache remembers the offset of the zone period last looked up, so
// that a batch of nearby instants asks the time package once per period.
type zoneCache struct {
	from, to int64 // [from, to) in seconds; to == from: empty
	off      int64
}

func (z *zoneCache) offset(loc *time.Location, sec int64) int64 {
	if loc == nil {
		return 0 // UTC
	}
	if z.to > z.from && sec >= z.from && sec < z.to {
		return z.off
	}
	tm := time.Unix(sec, 0).In(loc)
	_, off := tm.Zone()
	start, end := tm.ZoneBounds()
	z.off = int64(off)
	z.from, z.to = math.MinInt64, math.MaxInt64
	if !start.IsZero() {
		z.from = start.Unix()
	}
	if !end.IsZero() {
		z.to = end.Unix()
	}
	return z.off
}

// addMul is v + n*step exactly, ok false when the result does not fit
// (n*step alone may overflow while the sum fits: v near one end of the
// range, n toward the other).
func addMul(v, n, step int64) (int64, bool) {
	if d, ok := mulCheck(n, step); ok {
		if r, ok := addCheck(v, d); ok {
			return r, true
		}
	}
	r := new(big.Int).Mul(big.NewInt(n), big.NewInt(step))
	r.Add(r, big.NewInt(v))
	if !r.IsInt64() {
		return 0, false
	}
	return r.Int64(), true
}

// mulCheck is a*b, ok false on overflow.
func mulCheck(a, b int64) (int64, bool) {
	hi, lo := bits.Mul64(uint64(abs64(a)), uint64(abs64(b)))
	neg := (a < 0) != (b < 0)
	if hi != 0 {
		return 0, false
	}
	if neg {
		if lo > 1<<63 {
			return 0, false
		}
		return -int64(lo), true
	}
	if lo > math.MaxInt64 {
		return 0, false
	}
	return int64(lo), true
}

func abs64(a int64) int64 {
	if a < 0 {
		return -a // MinInt64 stays MinInt64: its uint64 is 1<<63, as wanted
	}
	return a
}

// addCheck is a+b, ok false on overflow.
func addCheck(a, b int64) (int64, bool) {
	s := a + b
	if (a^s)&(b^s) < 0 {
		return 0, false
	}
	return s, true
}
