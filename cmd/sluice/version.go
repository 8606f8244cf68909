package main

import (
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"

	"github.com/sluicedata/sluice/cmd/sluice/internal/cli"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/state"
)

// version is set at release time:
//
//	go build -ldflags "-X main.version=v1.2.3" ./cmd/sluice
//
// Otherwise the module version from the build info is used (set by
// `go install …@v1.2.3`), else "dev".
var version = ""

// The plan file and state format versions this binary reads and writes,
// from the packages that own those formats.
var (
	planFormatVersion  = planner.FormatVersion
	stateFormatVersion = strconv.Itoa(state.FormatVersion)
)

// versionInfo is `sluice version -json`.
type versionInfo struct {
	Version            string `json:"version"`
	Revision           string `json:"revision,omitempty"`
	PlanFormatVersion  string `json:"plan_format_version"`
	StateFormatVersion string `json:"state_format_version"`
	GoVersion          string `json:"go_version"`
	Platform           string `json:"platform"`
}

func currentVersion() versionInfo {
	v := versionInfo{
		Version:            version,
		PlanFormatVersion:  planFormatVersion,
		StateFormatVersion: stateFormatVersion,
		GoVersion:          runtime.Version(),
		Platform:           runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		var modified bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && v.Revision != "" {
			v.Revision += "-dirty"
		}
	}
	if v.Version == "" {
		v.Version = "dev"
	}
	return v
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:     "version",
		Synopsis: "Show the version and the plan and state formats",
		Help: `Prints the sluice version, the plan file and state format versions it reads
and writes, and the Go version and platform it was built with.`,
		MaxArgs: 0,
		Common:  cli.CommonJSON,
		Setup: func(fs *flag.FlagSet) cli.Runner {
			return func(inv *cli.Invocation) cli.ExitCode {
				v := currentVersion()
				if inv.Common.JSON {
					return inv.WriteJSON(v)
				}
				fmt.Fprintf(inv.Stdout, "sluice %s\n", v.Version)
				if v.Revision != "" {
					fmt.Fprintf(inv.Stdout, "revision %s\n", v.Revision)
				}
				fmt.Fprintf(inv.Stdout, "plan format %s, state format %s\n", v.PlanFormatVersion, v.StateFormatVersion)
				fmt.Fprintf(inv.Stdout, "%s %s\n", v.GoVersion, v.Platform)
				return cli.ExitOK
			}
		},
	}
}
