package s3test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Kind is the S3 operation a request performs, as the proxy classifies it.
type Kind int

const (
	KindOther Kind = iota
	KindListObjectsV2
	KindListObjects
	KindGetObject
	KindHeadObject
	KindPutObject
	KindDeleteObject
	KindDeleteObjects
	KindCreateMultipartUpload
	KindUploadPart
	KindCompleteMultipartUpload
	KindAbortMultipartUpload
	KindListMultipartUploads
	KindListParts
	KindCreateBucket
	KindHeadBucket
	KindDeleteBucket
	KindListBuckets
)

var kindNames = [...]string{
	KindOther: "Other", KindListObjectsV2: "ListObjectsV2", KindListObjects: "ListObjects",
	KindGetObject: "GetObject", KindHeadObject: "HeadObject", KindPutObject: "PutObject",
	KindDeleteObject: "DeleteObject", KindDeleteObjects: "DeleteObjects",
	KindCreateMultipartUpload: "CreateMultipartUpload", KindUploadPart: "UploadPart",
	KindCompleteMultipartUpload: "CompleteMultipartUpload", KindAbortMultipartUpload: "AbortMultipartUpload",
	KindListMultipartUploads: "ListMultipartUploads", KindListParts: "ListParts",
	KindCreateBucket: "CreateBucket", KindHeadBucket: "HeadBucket", KindDeleteBucket: "DeleteBucket",
	KindListBuckets: "ListBuckets",
}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Request is one request the proxy saw, classified.
type Request struct {
	Kind   Kind
	Method string
	Bucket string
	Key    string
	Query  url.Values // e.g. Query.Get("prefix") of a ListObjectsV2
	// Host is the Host header as sent; Header the request's headers as
	// they arrived (e.g. Header.Get("x-amz-server-side-encryption")), so a
	// test asserts what the server was sent, not what the client meant.
	Host   string
	Header http.Header
	Fault  Fault // what the proxy did to it
}

// Classify names the S3 operation of a request: path-style, or
// virtual-hosted under localhost (bucket b at b.localhost:PORT, the one
// virtual domain a test can use without DNS: see StartWith).
func Classify(r *http.Request) Request {
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	if p, err := url.PathUnescape(path); err == nil {
		path = p
	}
	bucket, key, _ := strings.Cut(path, "/")
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	if b, ok := strings.CutSuffix(host, ".localhost"); ok && b != "" {
		bucket, key = b, path
	}
	q := r.URL.Query()
	req := Request{Method: r.Method, Bucket: bucket, Key: key, Query: q, Host: r.Host, Header: r.Header.Clone()}
	has := func(k string) bool { _, ok := q[k]; return ok }
	switch {
	case bucket == "":
		if r.Method == http.MethodGet {
			req.Kind = KindListBuckets
		}
	case key == "":
		switch r.Method {
		case http.MethodGet:
			switch {
			case q.Get("list-type") == "2":
				req.Kind = KindListObjectsV2
			case has("uploads"):
				req.Kind = KindListMultipartUploads
			case len(q) == 0 || has("prefix") || has("marker") || has("delimiter"):
				req.Kind = KindListObjects
			}
		case http.MethodPut:
			if len(q) == 0 {
				req.Kind = KindCreateBucket
			}
		case http.MethodHead:
			req.Kind = KindHeadBucket
		case http.MethodDelete:
			req.Kind = KindDeleteBucket
		case http.MethodPost:
			if has("delete") {
				req.Kind = KindDeleteObjects
			}
		}
	default:
		switch r.Method {
		case http.MethodGet:
			if has("uploadId") {
				req.Kind = KindListParts
			} else if len(q) == 0 || has("partNumber") || has("versionId") || has("x-id") {
				req.Kind = KindGetObject
			}
		case http.MethodHead:
			req.Kind = KindHeadObject
		case http.MethodPut:
			switch {
			case has("uploadId") && has("partNumber"):
				req.Kind = KindUploadPart
			case !has("tagging") && !has("acl") && !has("retention") && !has("legal-hold"):
				req.Kind = KindPutObject
			}
		case http.MethodPost:
			switch {
			case has("uploads"):
				req.Kind = KindCreateMultipartUpload
			case has("uploadId"):
				req.Kind = KindCompleteMultipartUpload
			}
		case http.MethodDelete:
			if has("uploadId") {
				req.Kind = KindAbortMultipartUpload
			} else {
				req.Kind = KindDeleteObject
			}
		}
	}
	return req
}

// Fault is what the proxy does to one request. The zero Fault forwards it
// untouched.
type Fault struct {
	// Delay holds the request this long before anything else.
	Delay time.Duration
	// Status, if not 0, answers with this HTTP status and an S3 XML error
	// of Code without forwarding (e.g. 500 InternalError, 503 SlowDown).
	Status int
	Code   string
	// Header is added to the injected answer (e.g. x-amz-bucket-region
	// on a 301, as AWS sends).
	Header http.Header
	// Drop closes the connection without an answer, before forwarding.
	Drop bool
	// DropResponse forwards the request, lets the server act on it, then
	// closes the connection without an answer: the ambiguous outcome.
	DropResponse bool
	// BodyDelay forwards the request and sends the response's status and
	// headers at once, then holds the body this long: a connection that
	// stalls mid-response.
	BodyDelay time.Duration
}

// Common faults.
var (
	InternalError = Fault{Status: http.StatusInternalServerError, Code: "InternalError"}
	SlowDown      = Fault{Status: http.StatusServiceUnavailable, Code: "SlowDown"}
	DropConn      = Fault{Drop: true}
	DropResponse  = Fault{DropResponse: true}
)

// FirstN applies f to the first n requests for which match returns true
// (all requests if match is nil), and the zero Fault afterwards.
func FirstN(n int, match func(Request) bool, f Fault) func(*http.Request) Fault {
	var mu sync.Mutex
	left := n
	return func(r *http.Request) Fault {
		if match != nil && !match(Classify(r)) {
			return Fault{}
		}
		mu.Lock()
		defer mu.Unlock()
		if left <= 0 {
			return Fault{}
		}
		left--
		return f
	}
}

// Proxy is a reverse proxy on its own loopback port in front of a Server.
// It records every request (Count, Requests) and can inject faults.
type Proxy struct {
	endpoint string
	upstream *url.URL
	server   *Server
	srv      *http.Server
	client   *http.Client

	mu       sync.Mutex
	reqs     []Request
	faultf   func(*http.Request) Fault
	inFlight map[Kind]int
	maxIn    map[Kind]int
}

// Proxy starts a proxy in front of the server, stopped at cleanup.
// Point a client at it with Proxy.Env / Proxy.SetEnv or its Endpoint.
func (s *Server) Proxy(t testing.TB) *Proxy {
	t.Helper()
	up, _ := url.Parse(s.endpoint)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("s3test: proxy listen: %v", err)
	}
	p := &Proxy{
		endpoint: "http://" + l.Addr().String(),
		upstream: up,
		server:   s,
		client: &http.Client{
			Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true},
			// Redirects go back to the client untouched.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	p.srv = &http.Server{Handler: p}
	go p.srv.Serve(l)
	t.Cleanup(func() {
		p.srv.Close()
		p.client.CloseIdleConnections()
	})
	return p
}

// Endpoint is the proxy's base URL.
func (p *Proxy) Endpoint() string { return p.endpoint }

// SetFault installs the fault hook (nil removes it). It is called for
// every request, concurrently.
func (p *Proxy) SetFault(f func(*http.Request) Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faultf = f
}

// Requests returns a copy of the requests seen so far, in arrival order.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.reqs...)
}

// Reset forgets the requests seen so far.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reqs = nil
	for k := range p.maxIn {
		p.maxIn[k] = p.inFlight[k]
	}
}

// MaxConcurrent is the largest number of requests of kind the proxy has
// been serving at one time (since it started or the last Reset).
func (p *Proxy) MaxConcurrent(kind Kind) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maxIn[kind]
}

// Count is the number of requests of kind seen so far.
func (p *Proxy) Count(kind Kind) int {
	return p.CountWhere(func(r Request) bool { return r.Kind == kind })
}

// CountWhere is the number of requests seen so far for which f is true,
// e.g. ListObjectsV2 calls with a given prefix:
//
//	p.CountWhere(func(r s3test.Request) bool {
//		return r.Kind == s3test.KindListObjectsV2 && r.Query.Get("prefix") == "dt=2024-01-01/"
//	})
func (p *Proxy) CountWhere(f func(Request) bool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.reqs {
		if f(r) {
			n++
		}
	}
	return n
}

// RequestsOf returns the requests of kind seen so far, in arrival order.
func (p *Proxy) RequestsOf(kind Kind) []Request {
	var out []Request
	for _, r := range p.Requests() {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

// ListedPrefixes is the prefix parameter of every ListObjectsV2 call, in
// order.
func (p *Proxy) ListedPrefixes() []string {
	var out []string
	for _, r := range p.Requests() {
		if r.Kind == KindListObjectsV2 {
			out = append(out, r.Query.Get("prefix"))
		}
	}
	return out
}

var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	hook := p.faultf
	p.mu.Unlock()
	var f Fault
	if hook != nil {
		f = hook(r)
	}
	rec := Classify(r)
	rec.Fault = f
	p.mu.Lock()
	p.reqs = append(p.reqs, rec)
	if p.inFlight == nil {
		p.inFlight, p.maxIn = map[Kind]int{}, map[Kind]int{}
	}
	p.inFlight[rec.Kind]++
	p.maxIn[rec.Kind] = max(p.maxIn[rec.Kind], p.inFlight[rec.Kind])
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.inFlight[rec.Kind]--
		p.mu.Unlock()
	}()

	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if f.Drop {
		io.Copy(io.Discard, r.Body)
		hijackClose(w)
		return
	}
	if f.Status != 0 {
		io.Copy(io.Discard, r.Body)
		code := f.Code
		if code == "" {
			code = http.StatusText(f.Status)
		}
		w.Header().Set("Content-Type", "application/xml")
		for k, vs := range f.Header {
			w.Header()[http.CanonicalHeaderKey(k)] = vs
		}
		w.WriteHeader(f.Status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>injected by s3test proxy</Message><RequestId>s3test</RequestId></Error>`, code)
		return
	}

	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme = p.upstream.Scheme
	out.URL.Host = p.upstream.Host
	// The SigV4 signature covers the Host header: keep the client's.
	out.Host = r.Host
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	if r.ContentLength == 0 {
		out.Body = nil
	}
	resp, err := p.client.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if f.DropResponse {
		io.Copy(io.Discard, resp.Body)
		hijackClose(w)
		return
	}
	for _, h := range hopHeaders {
		resp.Header.Del(h)
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	if f.BodyDelay > 0 {
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		select {
		case <-time.After(f.BodyDelay):
		case <-r.Context().Done():
			return
		}
	}
	io.Copy(w, resp.Body)
}

// hijackClose closes the client's connection with no response at all.
func hijackClose(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				tc.SetLinger(0) // RST, like a dying middlebox
			}
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// Env is Server.Env with the endpoint replaced by the proxy's.
func (p *Proxy) Env() []string {
	env := p.server.Env()
	for i, kv := range env {
		if strings.HasPrefix(kv, "AWS_ENDPOINT_URL_S3=") {
			env[i] = "AWS_ENDPOINT_URL_S3=" + p.endpoint
		}
	}
	return env
}

// SetEnv is Server.SetEnv pointing at the proxy.
func (p *Proxy) SetEnv(t testing.TB) {
	t.Helper()
	setEnv(t, p.Env())
}

// Client is an S3 client with static credentials that goes through the
// proxy. Its retries are off, so a test sees every injected fault.
func (p *Proxy) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(p.endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(p.server.accessKey, p.server.secretKey, ""),
		Retryer:      aws.NopRetryer{},
	})
}
