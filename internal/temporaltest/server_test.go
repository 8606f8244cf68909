package temporaltest

import (
	"context"
	"testing"
	"time"
)

// The server comes up, survives a SIGKILL and a restart on its database,
// and answers on the same address.
func TestStartKillRestart(t *testing.T) {
	s := Start(t)
	c := s.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.CheckHealth(ctx, nil); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	// The client reconnects by itself (after gRPC's backoff).
	for {
		_, err := c.CheckHealth(ctx, nil)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("after restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
