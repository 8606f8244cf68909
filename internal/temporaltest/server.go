package temporaltest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sluicedata/sluice/internal/testtool"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// Namespace is the namespace the dev server creates.
const Namespace = "default"

// Server is a running `temporal server start-dev` on 127.0.0.1.
type Server struct {
	bin    string
	ports  [3]int // gRPC, HTTP, metrics
	db     string
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	log    *syncBuffer
}

// Address is the frontend's host:port.
func (s *Server) Address() string { return fmt.Sprintf("127.0.0.1:%d", s.ports[0]) }

// Env points sluice (and the Temporal CLI) at the server.
func (s *Server) Env() []string {
	return []string{"TEMPORAL_ADDRESS=" + s.Address(), "TEMPORAL_NAMESPACE=" + Namespace}
}

// Binary finds the Temporal CLI: $SLUICE_TEMPORAL, else <module
// root>/.tools/temporal, else temporal on PATH.
func Binary() (string, error) {
	return testtool.Find("SLUICE_TEMPORAL", "temporal", "the Temporal CLI")
}

// DB is the server's database file (with its -wal and -shm companions).
func (s *Server) DB() string { return s.db }

// Start runs a dev server for the test and kills it at cleanup. It fails
// the test (never skips) when the CLI is missing or the server does not
// come up.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatalf("temporaltest: %v", err)
	}
	s, err := New(bin, t.TempDir())
	if err != nil {
		t.Fatalf("temporaltest: %v", err)
	}
	t.Cleanup(s.Kill)
	return s
}

// New starts a dev server (bin: the Temporal CLI) with its database in dir,
// for callers that are not tests (the benchmark); Kill stops it.
func New(bin, dir string) (*Server, error) {
	var lastErr error
	// A free port can be taken between the probe and the server's bind.
	for range 3 {
		s := &Server{bin: bin, db: filepath.Join(dir, "temporal.db"), log: &syncBuffer{}}
		for i := range s.ports {
			p, err := testtool.FreePort()
			if err != nil {
				return nil, err
			}
			s.ports[i] = p
		}
		if lastErr = s.start(); lastErr == nil {
			return s, nil
		}
	}
	return nil, lastErr
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command(s.bin, "server", "start-dev", "--headless", "--ip", "127.0.0.1",
		"--port", fmt.Sprint(s.ports[0]), "--http-port", fmt.Sprint(s.ports[1]), "--metrics-port", fmt.Sprint(s.ports[2]),
		"--db-filename", s.db,
		"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
		"--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
		"--dynamic-config-value", "matching.numTaskqueueWritePartitions=1",
		"--log-level", "error")
	// No lookup of version-info.temporal.io (the only thing start-dev
	// would reach beyond loopback); HOME in the temp dir keeps the CLI's
	// files out of the real one.
	cmd.Env = append(os.Environ(), "TEMPORAL_VERSION_CHECK_DISABLED=1", "HOME="+filepath.Dir(s.db))
	cmd.Stdout, cmd.Stderr = s.log, s.log
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %v", s.bin, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	if err := s.waitReady(60*time.Second, exited); err != nil {
		cmd.Process.Kill()
		<-exited
		return fmt.Errorf("the Temporal dev server did not come up on %s: %v\n%s", s.Address(), err, s.log.String())
	}
	return nil
}

// waitReady dials until the frontend answers (the SDK's Dial runs the
// gRPC health check and GetSystemInfo); polling with the CLI would start
// a 240 MiB binary per try.
func (s *Server) waitReady(limit time.Duration, exited chan struct{}) error {
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-exited:
			return errors.New("exited")
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c, err := client.DialContext(ctx, client.Options{HostPort: s.Address(), Namespace: Namespace, Logger: quiet()})
		cancel()
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill SIGKILLs the server (its database keeps what it committed).
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	select {
	case <-s.exited:
	default:
		s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// Restart starts the server again on its ports and database, after Kill.
func (s *Server) Restart() error {
	if err := s.start(); err != nil {
		return fmt.Errorf("temporaltest: restart: %w", err)
	}
	return nil
}

// Client is a client of the server for test setup and checks.
func (s *Server) Client(t testing.TB) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: s.Address(), Namespace: Namespace, Logger: quiet()})
	if err != nil {
		t.Fatalf("temporaltest: dial %s: %v", s.Address(), err)
	}
	t.Cleanup(c.Close)
	return c
}

// Log is the server's output so far.
func (s *Server) Log() string { return s.log.String() }

func quiet() tlog.Logger {
	return tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() > 1<<20 {
		return len(p), nil
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
