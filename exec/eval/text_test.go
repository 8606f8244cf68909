package eval

import (
	"math/rand/v2"
	"testing"

	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// TestCompiledFromText runs IR built by spec/predicate's real type checker
// (literal adaptation, implicit casts) against the reference.
func TestCompiledFromText(t *testing.T) {
	mem, ctx := checkedCtx(t)
	defer mem.AssertSize(t, 0)
	env := predicate.Env{}
	for _, c := range genColumns {
		env.Columns = append(env.Columns, schema.Column{Name: c.name, Type: c.typ, Nullable: true})
	}
	srcs := []string{
		`i64 > 10 && s in ['eu', 'us'] && ls startsWith 'o-'`,
		`i32 == 5 || i32 > i64`,
		`f32 > 0.1 && f64 < i64`,
		`i64 / j64 > 1.5`,
		`i64 % j64 == 0`,
		`-i32 < 3 and not (f64 >= 2)`,
		`d >= '2026-01-01' && ts < '2026-01-01T00:00:00Z'`,
		`dec > 10.5 || dec2 == 0`,
		`dec in [10.5, 2.5, 0]`,
		`s == nil || ls != nil`,
		`lower(s) == 'straße' || upper(ls) endsWith 'SS' || len(s) > 3`,
		`s contains 'o' and i32 not in [1, 2, 3]`,
		`b == true && b != false || !b`,
		`bin == 'eu'`,
		`i64 + j64 * 2 - i32 > 0`,
		`f64 / 0 == nil`,
	}
	rng := rand.New(rand.NewPCG(5, 6))
	b := genBatch(mem, randChooser{rng}, 300)
	defer b.Release()
	for _, src := range srcs {
		pred, errs := predicate.Compile(src, env)
		if len(errs) > 0 {
			t.Errorf("predicate.Compile(%q): %v", src, errs)
			continue
		}
		checkAgainstReference(t, ctx, pred.Root, b)
	}
}
