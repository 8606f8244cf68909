package lakegen

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// EventsOptions shape a nested-events data set (see Events).
type EventsOptions struct {
	Files       int // total number of files
	Days        int // dt= partitions starting 2026-01-01; files are spread evenly over them
	RowsPerFile int
	Seed        uint64
}

// EventColumns are the columns of Events: GitHub-archive-like activity
// events whose actor, repository, organisation and payload are structs
// and whose push commits are a list of structs (themselves holding a
// struct), about 1 KB per line. The hive key dt is in the path only.
var EventColumns = []WideColumn{
	{"id", "string", "VARCHAR"},
	{"type", "string", "VARCHAR"},
	{"actor", "struct(id int64, login string, display_login string, gravatar_id string, url string, avatar_url string)",
		"STRUCT(id BIGINT, login VARCHAR, display_login VARCHAR, gravatar_id VARCHAR, url VARCHAR, avatar_url VARCHAR)"},
	{"repo", "struct(id int64, name string, url string)", "STRUCT(id BIGINT, name VARCHAR, url VARCHAR)"},
	{"payload", "struct(action string, ref string, ref_type string, push_id int64, size int32, distinct_size int32, head string, before string, " +
		"commits list(struct(sha string, author struct(email string, name string), message string, distinct bool, url string)), number int64, title string)",
		"STRUCT(action VARCHAR, ref VARCHAR, ref_type VARCHAR, push_id BIGINT, size INTEGER, distinct_size INTEGER, head VARCHAR, before VARCHAR, " +
			"commits STRUCT(sha VARCHAR, author STRUCT(email VARCHAR, name VARCHAR), message VARCHAR, \"distinct\" BOOLEAN, url VARCHAR)[], number BIGINT, title VARCHAR)"},
	{"public", "bool", "BOOLEAN"},
	{"created_at", "timestamp(ms)", "TIMESTAMP"},
	{"org", "struct(id int64, login string, url string)", "STRUCT(id BIGINT, login VARCHAR, url VARCHAR)"},
}

// eventTypes and their weights out of 100: about the mix of the public
// GitHub timeline (pushes dominate).
var eventTypes = []struct {
	name   string
	weight int
}{
	{"PushEvent", 45}, {"CreateEvent", 12}, {"WatchEvent", 12}, {"PullRequestEvent", 10},
	{"IssueCommentEvent", 8}, {"IssuesEvent", 6}, {"DeleteEvent", 4}, {"ForkEvent", 3},
}

var (
	eventWords = []string{"fix", "add", "update", "remove", "refactor", "docs", "test", "bump", "parser", "cache",
		"build", "release", "typo", "readme", "config", "handler", "timeout", "retry", "index", "schema"}
	eventActions = []string{"opened", "closed", "reopened", "created", "edited"}
)

func eventType(rng *rand.Rand) string {
	n := rng.IntN(100)
	for _, t := range eventTypes {
		if n < t.weight {
			return t.name
		}
		n -= t.weight
	}
	return eventTypes[0].name
}

func hexString(rng *rand.Rand, n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[rng.IntN(16)]
	}
	return string(b)
}

func sentence(rng *rand.Rand, min, max int) string {
	n := min + rng.IntN(max-min+1)
	words := make([]string, n)
	for i := range words {
		words[i] = eventWords[rng.IntN(len(eventWords))]
	}
	return strings.Join(words, " ")
}

// writeEvent appends one event as a JSON line to buf.
func writeEvent(buf *bytes.Buffer, rng *rand.Rand, id int64, day time.Time) {
	typ := eventType(rng)
	actorID := 1000 + rng.IntN(500_000)
	login := "user" + strconv.Itoa(actorID)
	repoID := 10_000 + rng.IntN(2_000_000)
	owner := "org" + strconv.Itoa(repoID%5000)
	repoName := owner + "/" + eventWords[repoID%len(eventWords)] + "-" + strconv.Itoa(repoID)
	created := day.Add(time.Duration(rng.IntN(86_400)) * time.Second)

	fmt.Fprintf(buf, `{"id":"%d","type":%q,`, 20_000_000_000+id, typ)
	fmt.Fprintf(buf, `"actor":{"id":%d,"login":%q,"display_login":%q,"gravatar_id":"","url":"https://api.github.com/users/%s","avatar_url":"https://avatars.githubusercontent.com/u/%d?"},`,
		actorID, login, login, login, actorID)
	fmt.Fprintf(buf, `"repo":{"id":%d,"name":%q,"url":"https://api.github.com/repos/%s"},`, repoID, repoName, repoName)
	buf.WriteString(`"payload":{`)
	switch typ {
	case "PushEvent":
		size := 1 + rng.IntN(3)
		head, before := hexString(rng, 40), hexString(rng, 40)
		fmt.Fprintf(buf, `"push_id":%d,"size":%d,"distinct_size":%d,"ref":"refs/heads/main","head":%q,"before":%q,"commits":[`,
			9_000_000_000+id, size, size, head, before)
		for c := 0; c < size; c++ {
			if c > 0 {
				buf.WriteByte(',')
			}
			sha := hexString(rng, 40)
			fmt.Fprintf(buf, `{"sha":%q,"author":{"email":"%s@users.noreply.github.com","name":%q},"message":%q,"distinct":true,"url":"https://api.github.com/repos/%s/commits/%s"}`,
				sha, login, login, sentence(rng, 3, 12), repoName, sha)
		}
		buf.WriteString(`]`)
	case "CreateEvent", "DeleteEvent":
		refType := "branch"
		if rng.IntN(4) == 0 {
			refType = "tag"
		}
		fmt.Fprintf(buf, `"ref":"%s-%d","ref_type":%q`, eventWords[rng.IntN(len(eventWords))], rng.IntN(1000), refType)
	case "PullRequestEvent", "IssuesEvent", "IssueCommentEvent":
		fmt.Fprintf(buf, `"action":%q,"number":%d,"title":%q`, eventActions[rng.IntN(len(eventActions))], 1+rng.IntN(20_000), sentence(rng, 4, 10))
	case "WatchEvent":
		buf.WriteString(`"action":"started"`)
	}
	buf.WriteString(`},`)
	fmt.Fprintf(buf, `"public":%t,"created_at":%q`, rng.IntN(20) != 0, created.Format(time.RFC3339))
	if rng.IntN(10) < 3 {
		orgID := 100_000 + repoID%5000
		fmt.Fprintf(buf, `,"org":{"id":%d,"login":%q,"url":"https://api.github.com/orgs/%s"}`, orgID, owner, owner)
	}
	buf.WriteString("}\n")
}

// Events writes the nested-events data set: <dir>/dt=YYYY-MM-DD/part-NNNNNN.json,
// o.Files NDJSON files spread evenly over o.Days days from 2026-01-01, each
// with o.RowsPerFile events of EventColumns (an absent "org" is null; a
// payload holds only the fields of its event type). Event ids are unique
// across the set.
func Events(dir string, o EventsOptions) (Stats, error) {
	var st Stats
	if o.Files <= 0 || o.Days <= 0 || o.RowsPerFile <= 0 {
		return st, fmt.Errorf("lakegen: events data set needs positive Files, Days and RowsPerFile (got %d, %d, %d)", o.Files, o.Days, o.RowsPerFile)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 7))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	for f := 0; f < o.Files; f++ {
		day := start.AddDate(0, 0, f*o.Days/o.Files)
		path := filepath.Join(dir, "dt="+day.Format("2006-01-02"), fmt.Sprintf("part-%06d.json", f))
		buf.Reset()
		for r := 0; r < o.RowsPerFile; r++ {
			writeEvent(&buf, rng, int64(f)*int64(o.RowsPerFile)+int64(r), day)
		}
		w, closeFn, err := textFile(path, false)
		if err != nil {
			return st, fmt.Errorf("lakegen: %s: %w", path, err)
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			closeFn()
			return st, fmt.Errorf("lakegen: %s: %w", path, err)
		}
		if err := closeFn(); err != nil {
			return st, fmt.Errorf("lakegen: %s: %w", path, err)
		}
		if err := st.add(path, o.RowsPerFile); err != nil {
			return st, err
		}
	}
	return st, nil
}

// SchemaHCL renders columns as a pipeline-language schema block named name.
func SchemaHCL(name string, columns []WideColumn) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "schema %q {\n", name)
	for _, c := range columns {
		fmt.Fprintf(&sb, "  column %q {\n    type = %q\n  }\n", c.Name, c.Type)
	}
	sb.WriteString("}\n")
	return sb.String()
}
