package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/sluicedata/sluice/internal/testtool"
)

// Region is the region the gateway is started with and Env reports.
const Region = "us-east-1"

// Server is a running versitygw on 127.0.0.1, backed by a temp directory.
type Server struct {
	endpoint  string
	accessKey string
	secretKey string
	dataDir   string
	caFile    string // PEM of the CA that signed the TLS certificate ("" without TLS)
	cmd       *exec.Cmd
	log       *syncBuffer
	exited    chan struct{}
}

// Options change how StartWith runs the gateway. The zero Options are
// Start's.
type Options struct {
	// AccessKey and SecretKey are the root credentials (default: random).
	AccessKey, SecretKey string
	// TLS serves https with a certificate for 127.0.0.1 and localhost,
	// signed by a CA of the test's own (CAFile).
	TLS bool
	// VirtualDomain enables virtual-hosted addressing under this domain
	// ("localhost": bucket b is b.localhost:PORT). Requests to the IP
	// address stay path-style.
	VirtualDomain string
}

// CAFile is the PEM file of the CA that signed a TLS server's certificate
// (for AWS_CA_BUNDLE), "" for a plain http server.
func (s *Server) CAFile() string { return s.caFile }

// Endpoint is the gateway's base URL, e.g. "http://127.0.0.1:40123".
func (s *Server) Endpoint() string { return s.endpoint }

// AccessKey is the gateway's root access key id.
func (s *Server) AccessKey() string { return s.accessKey }

// SecretKey is the gateway's root secret key.
func (s *Server) SecretKey() string { return s.secretKey }

// DataDir is the gateway's posix root: one subdirectory per bucket.
func (s *Server) DataDir() string { return s.dataDir }

// Env is the environment that points the AWS SDK default chain at the
// server, for subprocesses (append it to os.Environ()).
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.accessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.secretKey,
		"AWS_REGION=" + Region,
		"AWS_ENDPOINT_URL_S3=" + s.endpoint,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// SetEnv sets Env in the test's own environment (restored at cleanup), and
// clears variables that would override it.
func (s *Server) SetEnv(t testing.TB) {
	t.Helper()
	setEnv(t, s.Env())
}

func setEnv(t testing.TB, env []string) {
	t.Helper()
	for _, k := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

func newClient(endpoint, access, secret string) *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(access, secret, ""),
	})
}

// Client is an S3 client for the server with static credentials, for test
// setup that should not go through the code under test.
func (s *Server) Client() *s3.Client {
	c := newClient(s.endpoint, s.accessKey, s.secretKey)
	if s.caFile == "" {
		return c
	}
	pool := x509.NewCertPool()
	if pem, err := os.ReadFile(s.caFile); err == nil {
		pool.AppendCertsFromPEM(pem)
	}
	return s3.New(c.Options(), func(o *s3.Options) {
		o.HTTPClient = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	})
}

// CreateBucket creates a bucket, failing the test on error.
func (s *Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("s3test: create bucket %q: %v", name, err)
	}
}

// Binary finds the versitygw binary: $SLUICE_VERSITYGW, else
// <module root>/.tools/versitygw, else versitygw on PATH.
func Binary() (string, error) { return testtool.Find("SLUICE_VERSITYGW", "versitygw", "versitygw") }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// Start runs a gateway for the test and stops it at cleanup. It fails the
// test (never skips) if the binary is missing or the server does not come
// up.
func Start(t testing.TB) *Server { t.Helper(); return StartWith(t, Options{}) }

// StartWith is Start with options.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	var lastErr error
	// A free port can be taken between our probe and the gateway's bind;
	// try again on a new one.
	for range 3 {
		s, err := start(t, bin, o)
		if err == nil {
			return s
		}
		lastErr = err
	}
	t.Fatalf("s3test: %v", lastErr)
	return nil
}

func start(t testing.TB, bin string, o Options) (*Server, error) {
	port, err := testtool.FreePort()
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	if err := os.Mkdir(dataDir, 0o755); err != nil {
		return nil, err
	}
	s := &Server{
		endpoint:  fmt.Sprintf("http://127.0.0.1:%d", port),
		accessKey: "SLUICETEST" + strings.ToUpper(randomHex(5)),
		secretKey: randomHex(20),
		dataDir:   dataDir,
		log:       &syncBuffer{},
		exited:    make(chan struct{}),
	}
	if o.AccessKey != "" {
		s.accessKey, s.secretKey = o.AccessKey, o.SecretKey
	}
	args := []string{"--quiet", "--port", fmt.Sprintf("127.0.0.1:%d", port)}
	if o.TLS {
		cert, key, ca, err := writeTLSFiles(dir)
		if err != nil {
			return nil, err
		}
		args = append(args, "--cert", cert, "--key", key)
		s.caFile = ca
		s.endpoint = fmt.Sprintf("https://127.0.0.1:%d", port)
	}
	if o.VirtualDomain != "" {
		args = append(args, "--virtual-domain", o.VirtualDomain)
	}
	// The credentials go through the environment, not argv, so that they
	// do not show in ps output or in a failure message quoting the command.
	s.cmd = exec.Command(bin, append(args, "posix", dataDir)...)
	s.cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+s.accessKey, "ROOT_SECRET_ACCESS_KEY="+s.secretKey)
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	s.cmd.SysProcAttr = sysProcAttr()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %v", bin, err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	if err := s.waitReady(30 * time.Second); err != nil {
		s.stop()
		return nil, fmt.Errorf("versitygw did not come up on %s: %v\n%s", s.endpoint, err, s.log.String())
	}
	t.Cleanup(s.stop)
	return s, nil
}

// waitReady polls until the gateway answers HTTP (any status: an
// unauthenticated request gets 403, which proves it is serving).
func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	c := &http.Client{Timeout: time.Second}
	if s.caFile != "" {
		pool := x509.NewCertPool()
		pem, err := os.ReadFile(s.caFile)
		if err != nil || !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("reading the test CA %s: %v", s.caFile, err)
		}
		c.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	}
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("exited: %v", s.cmd.ProcessState)
		default:
		}
		resp, err := c.Get(s.endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Server) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// Log is the gateway's output so far (for failure messages).
func (s *Server) Log() string { return s.log.String() }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() > 1<<20 {
		return len(p), nil // bounded: a chatty gateway must not eat memory
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
