package main

import (
	"testing"

	"github.com/sluicedata/sluice/spec"
)

func TestOverlaps(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"lake/clean/", "lake/clean/events/", true},
		{"lake/clean/events/", "lake/clean/", true},
		{"lake/clean/", "lake/clean/", true},
		{"raw/orders/", "raw/orders_v2/", false},
		{"s3://a/x/", "s3://b/x/", false},
		{"s3://a/x", "s3://a/x/y/", true},
	}
	for _, c := range cases {
		if got := overlaps(c.a, c.b); got != c.want {
			t.Errorf("overlaps(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestBuildGraphSharesPrefixNodes(t *testing.T) {
	p := func(name, src, sink string) *spec.Pipeline {
		return &spec.Pipeline{Name: name, Source: &spec.Source{Name: "in", URL: src}, Sink: &spec.Sink{Name: "out", URL: sink}}
	}
	cfg := &spec.Config{Dir: "/cfg", Pipelines: []*spec.Pipeline{
		p("a", "/lake/raw", "/lake/clean"),
		p("b", "/lake/clean", "s3://out/b/"),
		p("c", "s3://out/", "s3://archive/"),
	}}
	g := buildGraph(cfg)
	wantData := []string{"../lake/clean/", "../lake/raw/", "s3://archive/", "s3://out/", "s3://out/b/"}
	if len(g.Data) != len(wantData) {
		t.Fatalf("data = %q, want %q", g.Data, wantData)
	}
	for i := range wantData {
		if g.Data[i] != wantData[i] {
			t.Errorf("data[%d] = %q, want %q", i, g.Data[i], wantData[i])
		}
	}
	var overlapsEdges []graphEdge
	for _, e := range g.Edges {
		if e.Kind == edgeOverlaps {
			overlapsEdges = append(overlapsEdges, e)
		}
	}
	// a's sink is b's source: one shared node, no overlap edge; b's sink
	// s3://out/b/ lies under c's source s3://out/.
	if len(overlapsEdges) != 1 || overlapsEdges[0].From != "s3://out/b/" || overlapsEdges[0].To != "s3://out/" {
		t.Errorf("overlap edges = %+v", overlapsEdges)
	}
}
