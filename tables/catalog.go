package tables

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/glue"
	"github.com/apache/iceberg-go/catalog/rest"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	// The SQL catalog's SQLite driver, in pure Go (no cgo): database/sql
	// driver "sqlite".
	_ "modernc.org/sqlite"

	"github.com/sluicedata/sluice/spec"
)

// Catalog types as recorded in plans and journals.
const (
	TypeSQL  = "sql"
	TypeREST = "rest"
	TypeGlue = "glue"
)

// CatalogConfig is a catalog block's settings without its secrets: what a
// plan and a journal record, so that apply and recovery can open the
// catalog again.
type CatalogConfig struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// URI: sql, the SQLite file's absolute path; rest, the server URL.
	URI string `json:"uri,omitempty"`
	// Warehouse: an absolute local path or an s3:// URL.
	Warehouse string `json:"warehouse,omitempty"`
	Scope     string `json:"scope,omitempty"`
	Prefix    string `json:"prefix,omitempty"`
	SigV4     bool   `json:"sigv4,omitempty"`
	Region    string `json:"region,omitempty"`
	CatalogID string `json:"catalog_id,omitempty"`
}

// Secret is what a catalog needs that plans, journals and logs never
// record: a rest catalog's credential, token and headers.
type Secret struct {
	Credential string
	Token      string
	Headers    map[string]string
}

func (s Secret) empty() bool { return s.Credential == "" && s.Token == "" && len(s.Headers) == 0 }

// ConfigOf splits a catalog block into its recordable settings and its
// secret.
func ConfigOf(c *spec.Catalog) (CatalogConfig, Secret) {
	return CatalogConfig{
			Name: c.Name, Type: c.Type.String(), URI: c.URI, Warehouse: c.Warehouse,
			Scope: c.Scope, Prefix: c.Prefix, SigV4: c.SigV4, Region: c.Region, CatalogID: c.CatalogID,
		}, Secret{
			Credential: c.Credential, Token: c.Token, Headers: c.Headers,
		}
}

// Experimental reports whether the catalog's type is not tested end to end.
func (c CatalogConfig) Experimental() bool { return c.Type == TypeREST || c.Type == TypeGlue }

// Opener opens catalogs. Secrets, by catalog name, come from the loaded
// configuration; when a command has none (applying a saved plan elsewhere,
// recovering from a journal), a rest catalog's secrets are read from
// SLUICE_CATALOG_<NAME>_CREDENTIAL and SLUICE_CATALOG_<NAME>_TOKEN. A nil
// *Opener opens with the environment only.
type Opener struct {
	Secrets map[string]Secret
	// Getenv reads the environment (nil: os.Getenv).
	Getenv func(string) string
}

// NewOpener returns an Opener holding the secrets of cfg's catalogs.
func NewOpener(cfg *spec.Config) *Opener {
	o := &Opener{Secrets: map[string]Secret{}}
	if cfg != nil {
		for _, c := range cfg.Catalogs {
			if _, s := ConfigOf(c); !s.empty() {
				o.Secrets[c.Name] = s
			}
		}
	}
	return o
}

func (o *Opener) secret(name string) Secret {
	if o != nil {
		if s, ok := o.Secrets[name]; ok {
			return s
		}
	}
	getenv := os.Getenv
	if o != nil && o.Getenv != nil {
		getenv = o.Getenv
	}
	key := "SLUICE_CATALOG_" + strings.ToUpper(strings.NewReplacer("-", "_").Replace(name)) + "_"
	return Secret{Credential: getenv(key + "CREDENTIAL"), Token: getenv(key + "TOKEN")}
}

// Catalog is an open catalog. Close it when done.
type Catalog struct {
	cfg   CatalogConfig
	cat   catalog.Catalog
	close func() error
}

// Config is the catalog's recordable settings.
func (c *Catalog) Config() CatalogConfig { return c.cfg }

// Close releases the catalog (the SQLite handle of a sql catalog).
func (c *Catalog) Close() error {
	if c == nil || c.close == nil {
		return nil
	}
	return c.close()
}

// Open opens a catalog for reading and committing. A sql catalog's SQLite
// file and its tables are created if missing. A rest catalog is contacted
// here (GET /v1/config); a glue catalog only on its first call.
func (o *Opener) Open(ctx context.Context, cfg CatalogConfig) (*Catalog, error) {
	return o.open(ctx, cfg, false)
}

// ErrNoCatalog: a sql catalog's SQLite file does not exist yet (so none of
// its tables do); only OpenReadOnly returns it.
var ErrNoCatalog = errors.New("the catalog's SQLite file does not exist yet")

// OpenReadOnly opens a catalog for plan: a sql catalog is opened read-only
// and never created (ErrNoCatalog when its file is missing).
func (o *Opener) OpenReadOnly(ctx context.Context, cfg CatalogConfig) (*Catalog, error) {
	return o.open(ctx, cfg, true)
}

func (o *Opener) open(ctx context.Context, cfg CatalogConfig, readOnly bool) (*Catalog, error) {
	registerFileIO()
	switch cfg.Type {
	case TypeSQL, "":
		return openSQL(cfg, readOnly)
	case TypeREST:
		cat, err := rest.NewCatalog(ctx, cfg.Name, cfg.URI, restOptions(cfg, o.secret(cfg.Name))...)
		if err != nil {
			return nil, fmt.Errorf("catalog %s: rest catalog %s: %w", cfg.Name, cfg.URI, err)
		}
		return &Catalog{cfg: cfg, cat: cat, close: cat.Close}, nil
	case TypeGlue:
		awsCfg, props, err := glueConfig(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("catalog %s: %w", cfg.Name, err)
		}
		cat, err := glue.NewCatalog(glue.WithAwsConfig(awsCfg), glue.WithAwsProperties(props))
		if err != nil {
			return nil, fmt.Errorf("catalog %s: glue: %w", cfg.Name, err)
		}
		return &Catalog{cfg: cfg, cat: cat}, nil
	}
	return nil, fmt.Errorf("catalog %s: unknown type %q (sql, rest or glue)", cfg.Name, cfg.Type)
}

// sqliteDSN is modernc's DSN for the catalog file: WAL and a busy timeout,
// so that two processes committing to one file wait for each other instead
// of failing with "database is locked".
func sqliteDSN(path string, readOnly bool) string {
	q := "_pragma=busy_timeout(10000)"
	if readOnly {
		q += "&mode=ro"
	} else {
		q += "&_pragma=journal_mode(WAL)"
	}
	return "file:" + path + "?" + q
}

func openSQL(cfg CatalogConfig, readOnly bool) (*Catalog, error) {
	if cfg.URI == "" {
		return nil, fmt.Errorf("catalog %s: no uri (the SQLite file)", cfg.Name)
	}
	if readOnly {
		if _, err := os.Stat(cfg.URI); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("catalog %s: %s: %w", cfg.Name, cfg.URI, ErrNoCatalog)
		}
	} else if err := os.MkdirAll(filepath.Dir(cfg.URI), 0o755); err != nil {
		return nil, fmt.Errorf("catalog %s: %w", cfg.Name, err)
	}
	db, err := sql.Open("sqlite", sqliteDSN(cfg.URI, readOnly))
	if err != nil {
		return nil, fmt.Errorf("catalog %s: opening %s: %w", cfg.Name, cfg.URI, err)
	}
	props := iceberg.Properties{"warehouse": WarehouseURI(cfg.Warehouse)}
	if readOnly {
		props["init_catalog_tables"] = "false"
	}
	cat, err := sqlcat.NewCatalog(cfg.Name, db, sqlcat.SQLite, props)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("catalog %s: opening %s: %w", cfg.Name, cfg.URI, err)
	}
	return &Catalog{cfg: cfg, cat: cat, close: func() error {
		return errors.Join(cat.Close(), db.Close())
	}}, nil
}

// WarehouseURI turns a resolved warehouse (an absolute path or s3:// URL)
// into the location Iceberg records: file:// for local paths.
func WarehouseURI(w string) string {
	w = strings.TrimSuffix(w, "/")
	if w == "" || strings.Contains(w, "://") {
		return w
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(w)}).String()
}

// restOptions are the iceberg-go options of a rest catalog.
func restOptions(cfg CatalogConfig, s Secret) []rest.Option {
	var opts []rest.Option
	if cfg.Warehouse != "" {
		opts = append(opts, rest.WithWarehouseLocation(WarehouseURI(cfg.Warehouse)))
	}
	if s.Credential != "" {
		opts = append(opts, rest.WithCredential(s.Credential))
	}
	if s.Token != "" {
		opts = append(opts, rest.WithOAuthToken(s.Token))
	}
	if cfg.Scope != "" {
		opts = append(opts, rest.WithScope(cfg.Scope))
	}
	if cfg.Prefix != "" {
		opts = append(opts, rest.WithPrefix(cfg.Prefix))
	}
	if len(s.Headers) > 0 {
		opts = append(opts, rest.WithHeaders(s.Headers))
	}
	if cfg.SigV4 {
		opts = append(opts, rest.WithSigV4())
	}
	return opts
}

// glueConfig builds the AWS configuration (the default chain, with the
// block's region) and the properties of a glue catalog. Nothing is sent.
func glueConfig(ctx context.Context, cfg CatalogConfig) (aws.Config, glue.AwsProperties, error) {
	var lo []func(*awsconfig.LoadOptions) error
	if cfg.Region != "" {
		lo = append(lo, awsconfig.WithRegion(cfg.Region))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, lo...)
	if err != nil {
		return awsCfg, nil, fmt.Errorf("glue: AWS configuration: %w", err)
	}
	props := glue.AwsProperties{}
	if cfg.CatalogID != "" {
		props[glue.CatalogIdKey] = cfg.CatalogID
	}
	if cfg.Warehouse != "" {
		props["warehouse"] = WarehouseURI(cfg.Warehouse)
	}
	return awsCfg, props, nil
}
