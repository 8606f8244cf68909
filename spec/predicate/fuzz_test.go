package predicate

import (
	"errors"
	"math"
	"math/big"
	"reflect"
	"testing"
)

var fuzzSeeds = []string{
	"dt >= '2026-01-01' && region in ['eu', 'us'] && amount > 0",
	"qty > 1 and price < 2.5 or not paid",
	"-(qty + 1) * 2 % 3 < customer_id / 2",
	"lower(order_id) startsWith 'o-' || len(upper(order_id)) > 3",
	"order_id not in ['a', \"b\"] && order_id != nil",
	"ts < '2026-01-01 10:00:00' && day == '2026-02-28'",
	"amount in [1.5, '2', 3] && weight > qty",
	"paid ? 1 : 2",
	"foo.bar[0] | lower()",
	"'日本' == order_id && naem > 1",
	"((((qty))))",
	"qty < 1 < 2 <= 3",
	"coalesce(try_int(order_id), qty, 0) > 1 && (paid ? price : nil) < 2",
	"substring(trim(order_id), -3, 2) matches '^[0-9]+$' || split_part(order_id, '-', 2) == 'x'",
	"year(parse_timestamp(order_id, '%Y-%m-%d %H:%M:%S', 'Europe/Paris')) == 2026",
	"date_diff(day, date(ts), 'day') > 1 && trunc(ts_ms, 'month') < date_add(ts_ms, 1, 'hour')",
	"decimal(price, 10, 2) == amount || string(weight) == concat(qty, blob)",
	"int(order_id) > 1 ? true : bool('x')",
}

// FuzzCompile checks that Compile never panics, that every span lies in
// the source, and that a compiled predicate's canonical text compiles to
// the same text (and is accepted by CheckSyntax).
func FuzzCompile(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	env := testEnv()
	f.Fuzz(func(t *testing.T, src string) {
		p, errs := Compile(src, env)
		synErrs := CheckSyntax(src)
		for _, e := range append(errs, synErrs...) {
			if e.Span.Start < 0 || e.Span.End > len(src) || e.Span.Start > e.Span.End {
				t.Fatalf("%q: error span %v out of range: %s", src, e.Span, e)
			}
			if e.Summary == "" {
				t.Fatalf("%q: empty summary", src)
			}
		}
		if p == nil {
			if len(errs) == 0 {
				t.Fatalf("%q: nil predicate without errors", src)
			}
			return
		}
		if len(errs) > 0 {
			t.Fatalf("%q: predicate and errors", src)
		}
		if len(synErrs) > 0 {
			t.Fatalf("%q compiles but CheckSyntax rejects it: %v", src, synErrs)
		}
		checkSpans(t, src, p.Root)
		text := p.String()
		p2, errs := Compile(text, env)
		if len(errs) > 0 {
			t.Fatalf("%q: canonical %q does not compile: %v", src, text, errs)
		}
		if p2.String() != text {
			t.Fatalf("%q: canonical %q recompiles to %q", src, text, p2.String())
		}
	})
}

// FuzzEval evaluates compiled predicates on fuzzed rows: Eval must not
// panic, must give a bool or null for the root, must agree with the AND of
// the conjuncts, and must give the same answer for the canonical text.
func FuzzEval(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add(s, int64(i-3), float64(i)/3, "o-"+s[:i], i%2 == 0, uint16(i*37))
	}
	f.Add("customer_id / 0 == nil && customer_id % 0 == nil", int64(-9223372036854775808), math.Copysign(0, -1), "", true, uint16(0))
	f.Add("customer_id % -1 == 0 && -customer_id < 0", int64(-9223372036854775808), 0.0, "", true, uint16(0))
	env := testEnv()
	f.Fuzz(func(t *testing.T, src string, i int64, fl float64, s string, b bool, nulls uint16) {
		p, errs := Compile(src, env)
		if len(errs) > 0 {
			return
		}
		vals := map[string]any{
			"order_id": s, "customer_id": i, "qty": int64(int32(i)), "amount": big.NewInt(i % 1e10),
			"price": fl, "weight": float64(float32(fl)), "paid": b, "blob": s,
			"day": int32(i), "ts": i, "ts_ms": i, "dt": int32(i >> 8), "region": s,
		}
		bit := 0
		for _, name := range []string{"order_id", "customer_id", "qty", "amount", "price", "weight", "paid", "blob", "day", "ts", "ts_ms", "dt", "region"} {
			if nulls&(1<<bit) != 0 {
				vals[name] = nil
			}
			bit++
		}
		row := rowOf(vals)
		v, err := Eval(p.Root, row)
		var ve *ValueError
		if errors.As(err, &ve) {
			// A failed cast: the row is a bad record, which is all there
			// is to check.
			if ve.Fn == "" || ve.Reason == "" {
				t.Fatalf("%q: empty ValueError %#v", src, ve)
			}
			return
		}
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if v != nil {
			if _, ok := v.(bool); !ok {
				t.Fatalf("%q = %#v, not a bool", src, v)
			}
		}
		var cj []Expr
		for _, c := range p.Conjuncts {
			cj = append(cj, c.Expr)
		}
		if got, want := EvalBool(&And{Args: cj}, row), TriOf(v); got != want {
			t.Fatalf("%q: conjuncts give %s, root %s", src, got, want)
		}
		p2, errs := Compile(p.String(), env)
		if len(errs) > 0 {
			t.Fatalf("%q: canonical %q: %v", src, p, errs)
		}
		v2, err := Eval(p2.Root, row)
		if err != nil || !reflect.DeepEqual(v, v2) {
			t.Fatalf("%q = %v but canonical %q = %v (%v)", src, v, p, v2, err)
		}
	})
}
