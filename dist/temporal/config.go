package temporal

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	tlog "go.temporal.io/sdk/log"
)

// DefaultTaskQueue is the task queue sluice's workers poll unless told
// otherwise.
const DefaultTaskQueue = "sluice"

// Config is how to reach Temporal: the address, namespace and task queue
// (flags win over TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE), and for
// Temporal Cloud an API key or mTLS, read by the SDK's envconfig from
// TEMPORAL_API_KEY, TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH
// and the other TEMPORAL_* variables the Temporal CLI reads. A TOML profile
// file is read only when TEMPORAL_CONFIG_FILE names one: a stray
// ~/.config/temporalio/temporal.toml must not redirect a production run.
type Config struct {
	Address   string // host:port; "" → TEMPORAL_ADDRESS, else localhost:7233
	Namespace string // "" → TEMPORAL_NAMESPACE, else "default"
	TaskQueue string // "" → DefaultTaskQueue
	// Identity names this process in Temporal (workers, the UI).
	Identity string
}

// Queue is the task queue.
func (c Config) Queue() string {
	if c.TaskQueue != "" {
		return c.TaskQueue
	}
	return DefaultTaskQueue
}

// ClientOptions builds the SDK's options: envconfig's reading of the
// environment, then the flags.
func (c Config) ClientOptions() (client.Options, error) {
	req := envconfig.LoadClientOptionsRequest{
		DisableFile: os.Getenv("TEMPORAL_CONFIG_FILE") == "",
	}
	opts, err := envconfig.LoadClientOptions(req)
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal: reading the TEMPORAL_* configuration: %w", err)
	}
	if c.Address != "" {
		opts.HostPort = c.Address
	}
	if c.Namespace != "" {
		opts.Namespace = c.Namespace
	}
	if c.Identity != "" {
		opts.Identity = c.Identity
	}
	// The SDK logs through sluice's slog handler, one level quieter: its
	// INFO lines (every poller start) are noise in a run's log.
	opts.Logger = tlog.NewStructuredLogger(slog.New(quieter{slog.Default().Handler()}))
	return opts, nil
}

// Dial connects to Temporal (eagerly: a wrong address fails here).
func (c Config) Dial() (client.Client, error) {
	opts, err := c.ClientOptions()
	if err != nil {
		return nil, err
	}
	cl, err := client.Dial(opts)
	if err != nil {
		addr := opts.HostPort
		if addr == "" {
			addr = client.DefaultHostPort
		}
		return nil, fmt.Errorf("temporal: connecting to %s: %w", addr, err)
	}
	return cl, nil
}

// quieter logs the SDK's records one level lower than they come (INFO →
// DEBUG, WARN → INFO), keeping ERROR.
type quieter struct{ slog.Handler }

func (q quieter) Enabled(ctx context.Context, l slog.Level) bool {
	return q.Handler.Enabled(ctx, lower(l))
}

func (q quieter) Handle(ctx context.Context, r slog.Record) error {
	r.Level = lower(r.Level)
	return q.Handler.Handle(ctx, r)
}

func (q quieter) WithAttrs(as []slog.Attr) slog.Handler { return quieter{q.Handler.WithAttrs(as)} }
func (q quieter) WithGroup(n string) slog.Handler       { return quieter{q.Handler.WithGroup(n)} }

func lower(l slog.Level) slog.Level {
	if l >= slog.LevelError {
		return l
	}
	return l - 4
}

// sdkTimeout bounds the coordinator's own calls to Temporal (start,
// terminate, describe): the server may be restarting.
const sdkTimeout = 30 * time.Second
