package tables

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/apache/iceberg-go/catalog/glue"

	"github.com/sluicedata/sluice/spec"
)

// The rest and glue catalogs cannot be tested end to end here (no REST
// catalog server or Glue is reachable); these tests check their
// configuration: what sluice sends and what it never records.

func TestConfigOfKeepsSecretsApart(t *testing.T) {
	cfg, sec := ConfigOf(&spec.Catalog{Name: "r", Type: spec.CatalogREST, URI: "https://x", Credential: "id:s3cr3t", Token: "", Headers: map[string]string{"X-Api-Key": "k"}, Scope: "catalog"})
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "s3cr3t") || strings.Contains(string(b), "X-Api-Key") {
		t.Fatalf("recorded settings hold a secret: %s", b)
	}
	if sec.Credential != "id:s3cr3t" || sec.Headers["X-Api-Key"] != "k" || !cfg.Experimental() {
		t.Fatalf("%+v %+v", cfg, sec)
	}
}

func TestOpenerSecrets(t *testing.T) {
	env := map[string]string{"SLUICE_CATALOG_MY_LAKE_TOKEN": "from-env"}
	o := &Opener{Getenv: func(k string) string { return env[k] }}
	if s := o.secret("my-lake"); s.Token != "from-env" {
		t.Fatalf("env fallback: %+v", s)
	}
	o.Secrets = map[string]Secret{"my-lake": {Token: "from-config"}}
	if s := o.secret("my-lake"); s.Token != "from-config" {
		t.Fatalf("config wins: %+v", s)
	}
}

// TestRESTConfiguration starts a stand-in that answers only GET /v1/config,
// and checks what the catalog sends: the bearer token, the headers, the
// warehouse and the prefix.
func TestRESTConfiguration(t *testing.T) {
	var mu sync.Mutex
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if r.URL.Path == "/v1/config" {
			got = r.Clone(context.Background())
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"defaults": {}, "overrides": {}}`))
	}))
	defer srv.Close()
	o := &Opener{Secrets: map[string]Secret{"r": {Token: "tok", Headers: map[string]string{"X-Tenant": "acme"}}}}
	c, err := o.Open(context.Background(), CatalogConfig{Name: "r", Type: TypeREST, URI: srv.URL, Warehouse: "s3://wh/tables", Prefix: "p1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mu.Lock()
	defer mu.Unlock()
	if got == nil {
		t.Fatal("no GET /v1/config")
	}
	if a := got.Header.Get("Authorization"); a != "Bearer tok" {
		t.Errorf("Authorization %q", a)
	}
	if h := got.Header.Get("X-Tenant"); h != "acme" {
		t.Errorf("X-Tenant %q", h)
	}
	if wh := got.URL.Query().Get("warehouse"); wh != "s3://wh/tables" {
		t.Errorf("warehouse %q", wh)
	}
	if n := len(restOptions(CatalogConfig{Scope: "s", SigV4: true}, Secret{Credential: "a:b"})); n != 3 {
		t.Errorf("credential, scope, sigv4: %d options", n)
	}
}

// TestGlueConfiguration: a glue catalog is built from the AWS default chain
// with the block's region and catalog id, without any request.
func TestGlueConfiguration(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	cfg := CatalogConfig{Name: "g", Type: TypeGlue, Region: "eu-west-1", CatalogID: "123456789012", Warehouse: "s3://lake/wh"}
	awsCfg, props, err := glueConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if awsCfg.Region != "eu-west-1" || props[glue.CatalogIdKey] != "123456789012" || props["warehouse"] != "s3://lake/wh" {
		t.Fatalf("region %q props %v", awsCfg.Region, props)
	}
	c, err := (*Opener)(nil).Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}
