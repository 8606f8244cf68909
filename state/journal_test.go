package state

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/objstore"
)

func TestJournalRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := New(objstore.NewLocal(t.TempDir()), "", "p", "src")
	j := &Journal{RunID: "20260101T000000Z-aaaaaa", Kind: "apply", Phase: PhaseWriting, SinkURL: "file:///x"}
	if err := s.WriteJournal(ctx, j); err != nil {
		t.Fatal(err)
	}
	j.Phase = PhaseCommitting
	j.Uploads = []objstore.PendingUpload{{Key: "out/part-1", UploadID: "u", Size: 3}}
	j.Deletes = []string{"out/old"}
	if err := s.WriteJournal(ctx, j); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadJournal(ctx, j.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Phase != PhaseCommitting || got.Phase.Finished() || len(got.Uploads) != 1 || got.Uploads[0].UploadID != "u" || got.Deletes[0] != "out/old" {
		t.Fatalf("journal read back: %+v", got)
	}
	js, err := s.ListJournals(ctx)
	if err != nil || len(js) != 1 || js[0].RunID != j.RunID {
		t.Fatalf("ListJournals: %v %v", js, err)
	}
	var p Phase
	if err := p.UnmarshalText([]byte("BOGUS")); err == nil {
		t.Error("unknown phase accepted")
	}
	for _, ph := range []Phase{PhaseWriting, PhaseCommitting, PhaseDone, PhaseAborted} {
		b, _ := ph.MarshalText()
		var back Phase
		if err := back.UnmarshalText(b); err != nil || back != ph {
			t.Errorf("%v round trip: %v %v", ph, back, err)
		}
	}
}

// A sink key that is not valid UTF-8 is journaled exactly, so the commit
// (or its roll-forward) deletes that object and not a U+FFFD look-alike.
func TestJournalKeepsDeleteKeyBytes(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewLocal(t.TempDir())
	s := New(store, "", "p", "src")
	j := &Journal{RunID: "20260101T000000Z-aaaaaa", Kind: "apply", Phase: PhaseCommitting,
		Deletes: []string{"out/old.json", "out/a\xff.json", "out/é"}}
	if err := s.WriteJournal(ctx, j); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadJournal(ctx, j.RunID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Deletes) != 3 || got.Deletes[0] != "out/old.json" || got.Deletes[1] != "out/a\xff.json" || got.Deletes[2] != "out/é" {
		t.Fatalf("deletes read back: %q", got.Deletes)
	}
	var none Journal
	if err := json.Unmarshal([]byte(`{"deletes":[{"other":1}]}`), &none); err == nil {
		t.Error("a delete that is neither a string nor base64 was accepted")
	}
}

// A table run's journal is written at a format version a sluice without
// tables refuses, and read back; a newer one is refused with a remedy.
func TestTableJournalVersion(t *testing.T) {
	ctx := context.Background()
	store := objstore.NewLocal(t.TempDir())
	s := New(store, "", "p", "src")
	j := &Journal{RunID: "r1", Kind: "apply", Phase: PhaseWriting, Table: []byte(`{"table":"ns.t"}`)}
	if err := s.WriteJournal(ctx, j); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadJournal(ctx, "r1")
	if err != nil || got.FormatVersion != TableJournalVersion || !strings.Contains(string(got.Table), `"ns.t"`) {
		t.Fatalf("read back %+v, %v", got, err)
	}
	if _, err := store.Put(ctx, s.JournalKey("r2"), []byte(`{"format_version": 3, "run_id": "r2", "phase": "WRITING"}`), objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadJournal(ctx, "r2"); err == nil || !strings.Contains(err.Error(), "upgrade sluice") {
		t.Fatalf("a newer journal: %v", err)
	}
}
