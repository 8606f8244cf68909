package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// gateway is a versitygw process on loopback serving the S3 scenario.
type gateway struct {
	cmd            *exec.Cmd
	endpoint       string
	access, secret string
	dataDir        string
}

func startGateway(bin, dir string) (*gateway, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	b := make([]byte, 16)
	rand.Read(b)
	g := &gateway{
		endpoint: fmt.Sprintf("http://127.0.0.1:%d", port),
		access:   "BENCH" + strings.ToUpper(hex.EncodeToString(b[:5])),
		secret:   hex.EncodeToString(b),
		dataDir:  dir,
	}
	// A fresh server: a bucket left by an interrupted run (the posix
	// backend keeps buckets as directories) makes CreateBucket fail.
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	g.cmd = exec.Command(bin, "--quiet", "--port", fmt.Sprintf("127.0.0.1:%d", port), "posix", dir)
	g.cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+g.access, "ROOT_SECRET_ACCESS_KEY="+g.secret)
	if err := g.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	c := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := c.Get(g.endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return g, nil
		}
		if time.Now().After(deadline) {
			g.stop()
			return nil, fmt.Errorf("versitygw did not come up: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (g *gateway) stop() {
	if g.cmd.Process == nil {
		return
	}
	g.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { g.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		g.cmd.Process.Kill()
		<-done
	}
}

// env points the AWS SDK default chain (sluice's and get-worker's) at the
// gateway.
func (g *gateway) env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + g.access,
		"AWS_SECRET_ACCESS_KEY=" + g.secret,
		"AWS_REGION=us-east-1",
		"AWS_ENDPOINT_URL_S3=" + g.endpoint,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_REQUEST_CHECKSUM_CALCULATION=when_required",
	}
}

func (g *gateway) client() *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(g.endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(g.access, g.secret, ""),
	})
}

// cpuTime is the gateway's user+system CPU time so far, from /proc: the
// server shares the two cores with the client, so its share is reported.
func (g *gateway) cpuTime() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", g.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 (1-based), in clock ticks of 1/100 s on Linux.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

// upload creates bucket and puts every file under dir at prefix/<relative path>.
func (g *gateway) upload(bucket, prefix, dir string) error {
	ctx := context.Background()
	c := g.client()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	paths := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range paths {
				rel, _ := filepath.Rel(dir, p)
				key := path.Join(prefix, filepath.ToSlash(rel))
				f, err := os.Open(p)
				if err == nil {
					_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: f})
					f.Close()
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("put %s: %w", key, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths <- p
		}
		return err
	})
	close(paths)
	wg.Wait()
	if err != nil {
		return err
	}
	return firstErr
}
