package pushtest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Gateway is a running Pushgateway on 127.0.0.1.
type Gateway struct {
	URL string // e.g. "http://127.0.0.1:40123"
}

// Start runs the Pushgateway for the test's duration. Without the binary
// (SLUICE_PUSHGATEWAY unset or missing) the test fails: make test installs
// it; it is never silently skipped.
func Start(t testing.TB) *Gateway {
	t.Helper()
	bin := os.Getenv("SLUICE_PUSHGATEWAY")
	if bin == "" {
		t.Fatal("SLUICE_PUSHGATEWAY is not set: run make test, which installs the Pushgateway into .tools/")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("SLUICE_PUSHGATEWAY=%s: %v (run make tools)", bin, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "--web.listen-address="+addr, "--persistence.file=")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	g := &Gateway{URL: "http://" + addr}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(g.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return g
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Pushgateway on %s did not get ready: %v\n%s", addr, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Scrape returns the Pushgateway's /metrics text, as Prometheus reads it.
func (g *Gateway) Scrape(t testing.TB) string {
	t.Helper()
	resp, err := http.Get(g.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatal(fmt.Errorf("scrape: %s %v", resp.Status, err))
	}
	return string(b)
}
