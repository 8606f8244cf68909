package spec

import (
	"net/url"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

var catalogSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"},
		{Name: "uri"},
		{Name: "warehouse"},
		{Name: "credential"},
		{Name: "token"},
		{Name: "scope"},
		{Name: "prefix"},
		{Name: "headers"},
		{Name: "sigv4"},
		{Name: "region"},
		{Name: "catalog_id"},
	},
}

// catalogAttrs says which attributes each catalog type takes; the rest
// are errors naming the types that do take them.
var catalogAttrs = map[CatalogType][]string{
	CatalogSQL:  {"type", "uri", "warehouse"},
	CatalogREST: {"type", "uri", "warehouse", "credential", "token", "scope", "prefix", "headers", "sigv4"},
	CatalogGlue: {"type", "warehouse", "region", "catalog_id"},
}

// decodeCatalogs reads the catalog blocks. Everything is checked offline:
// validate never contacts a catalog.
func (l *loader) decodeCatalogs(blocks []*hcl.Block) {
	seen := map[string]*Catalog{}
	for _, b := range blocks {
		l.checkName(b, "catalog")
		c := l.decodeCatalog(b)
		if prev, ok := seen[c.Name]; ok {
			l.errorf(b.LabelRanges[0].Ptr(), "Duplicate catalog",
				"A catalog named %q is already declared at %s. Catalog names must be unique within a configuration.", c.Name, prev.DeclRange)
			continue
		}
		seen[c.Name] = c
		l.cfg.Catalogs = append(l.cfg.Catalogs, c)
	}
	sort.Slice(l.cfg.Catalogs, func(i, j int) bool { return l.cfg.Catalogs[i].Name < l.cfg.Catalogs[j].Name })
}

func (l *loader) decodeCatalog(b *hcl.Block) *Catalog {
	c := &Catalog{Name: label0(b), Type: CatalogSQL, DeclRange: b.DefRange}
	content, d := b.Body.Content(catalogSchema)
	l.diags = append(l.diags, d...)
	a := attrs{l, content.Attributes}
	var ok bool
	if c.Type, ok = enumAttr(a, "type", catalogTypeValues, CatalogSQL); !ok {
		return c
	}
	names := make([]string, 0, len(content.Attributes))
	for name := range content.Attributes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		at := content.Attributes[name]
		if !contains(catalogAttrs[c.Type], name) {
			var takers []string
			for _, t := range []CatalogType{CatalogSQL, CatalogREST, CatalogGlue} {
				if contains(catalogAttrs[t], name) {
					takers = append(takers, t.String())
				}
			}
			l.errorf(at.NameRange.Ptr(), "Attribute not for a "+c.Type.String()+" catalog",
				"%s applies to %s catalogs; this catalog's type is %q. Remove it.", name, strings.Join(takers, " and "), c.Type)
		}
	}
	if c.Type.Experimental() {
		rng := b.DefRange
		if at := a.get("type"); at != nil {
			rng = at.Expr.Range()
		}
		l.warnf(&rng, "Experimental catalog type",
			"The %s catalog is wired through iceberg-go but has not been tested end to end against a real %s (none is reachable where sluice is tested); only the sql catalog is. Use it with care.", c.Type, map[CatalogType]string{CatalogREST: "REST catalog server", CatalogGlue: "AWS Glue"}[c.Type])
	}
	if s, sens, ok := a.str("warehouse"); ok {
		if u, ok := l.resolveURL(s, sens, a.get("warehouse")); ok {
			c.Warehouse = u
		}
	}
	switch c.Type {
	case CatalogSQL:
		at := a.get("uri")
		if at == nil {
			l.errorf(b.DefRange.Ptr(), "Missing uri", "A sql catalog keeps its tables in a SQLite file: set uri to its local path, such as uri = \"lake/catalog.db\" (created on first apply).")
		} else if s, sens, ok := a.str("uri"); ok {
			if strings.Contains(s, "://") {
				l.errorf(at.Expr.Range().Ptr(), "Invalid sql catalog uri",
					"The sql catalog's uri is the local path of its SQLite file (relative to this file, or absolute); got %s. The SQLite file cannot live in object storage, but the warehouse can.", show(s, sens))
			} else if u, ok := l.resolveURL(s, sens, at); ok {
				c.URI = u
			}
		}
		if a.get("warehouse") == nil {
			l.errorf(b.DefRange.Ptr(), "Missing warehouse", "A sql catalog needs warehouse: where new tables' data and metadata go, a local path or an s3:// URL.")
		}
	case CatalogREST:
		at := a.get("uri")
		if at == nil {
			l.errorf(b.DefRange.Ptr(), "Missing uri", "A rest catalog needs uri: the server's base URL, such as uri = \"https://catalog.example.com/api/catalog\".")
		} else if s, sens, ok := a.str("uri"); ok {
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				l.errorf(at.Expr.Range().Ptr(), "Invalid rest catalog uri", "uri must be an http:// or https:// URL; got %s.", show(s, sens))
			} else {
				c.URI = s
			}
		}
		c.Credential, _, _ = a.str("credential")
		c.Token, _, _ = a.str("token")
		if c.Credential != "" && c.Token != "" {
			l.errorf(a.get("token").NameRange.Ptr(), "Conflicting rest credentials", "Set credential (OAuth2 client credentials, exchanged for a token) or token (a bearer token), not both.")
		}
		c.Scope, _, _ = a.str("scope")
		c.Prefix, _, _ = a.str("prefix")
		c.SigV4 = a.boolean("sigv4", false)
		if at := a.get("headers"); at != nil {
			c.Headers = l.stringMapAttr(at)
		}
	case CatalogGlue:
		c.Region, _, _ = a.str("region")
		c.CatalogID, _, _ = a.str("catalog_id")
	}
	if c.Warehouse != "" && c.Type == CatalogGlue && !strings.HasPrefix(c.Warehouse, "s3://") {
		l.errorf(a.get("warehouse").Expr.Range().Ptr(), "Invalid glue warehouse", "Tables in AWS Glue live in S3: warehouse must be an s3:// URL.")
	}
	return c
}

// stringMapAttr reads a map of strings, such as headers = { "X-A" = "b" }.
func (l *loader) stringMapAttr(at *hcl.Attribute) map[string]string {
	v, _, ok := l.eval(at.Expr)
	if !ok || v.IsNull() {
		return nil
	}
	mv, err := convert.Convert(v, cty.Map(cty.String))
	if err != nil || !mv.IsWhollyKnown() {
		l.errorf(at.Expr.Range().Ptr(), "Invalid value for "+at.Name, "%s must be a map of strings, such as { \"X-Tenant\" = \"acme\" }.", at.Name)
		return nil
	}
	out := map[string]string{}
	for k, e := range mv.AsValueMap() {
		if e.IsNull() {
			l.errorf(at.Expr.Range().Ptr(), "Invalid value for "+at.Name, "%s cannot hold null (key %q).", at.Name, k)
			continue
		}
		out[k] = e.AsString()
	}
	return out
}
