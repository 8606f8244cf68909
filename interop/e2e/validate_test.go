package e2e

import (
	"testing"
)

// TestConfigsValidate checks that every configuration these tests write is
// one sluice accepts, so that a failing apply is about apply.
func TestConfigsValidate(t *testing.T) {
	sluiceBin(t)
	for _, c := range formatCases {
		t.Run(c.name, func(t *testing.T) {
			fx := newFixture(t, c, 3)
			if out, code := runSluice(t, nil, "validate", fx.conf); code != 0 {
				t.Fatalf("sluice validate: exit %d\n%s\nconfig:\n%s", code, out, readConfig(fx.conf))
			}
		})
	}
}
