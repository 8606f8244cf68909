// Package testtool finds the servers the tests start (the S3 gateway, the
// Temporal CLI) and the loopback ports they listen on. Test support only;
// no sluice package imports it.
package testtool

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
)

// Find locates a tool: $envVar, else <module root>/.tools/name, else name
// on PATH. what names it in the error.
func Find(envVar, name, what string) (string, error) {
	if p := os.Getenv(envVar); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %v", envVar, p, err)
		}
		return p, nil
	}
	if root, err := moduleRoot(); err == nil {
		p := filepath.Join(root, ".tools", name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s was not found (looked at $%s, <module root>/.tools/%s and PATH): run `make tools`", what, envVar, name)
}

// moduleRoot is the outermost directory above the working directory with a
// go.mod (interop/ is a module inside the main one, and .tools/ is the main
// one's).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	found := ""
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			found = dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	if found == "" {
		return "", errors.New("no go.mod above the working directory")
	}
	return found, nil
}

// FreePort is a loopback TCP port free at the time of the call.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
