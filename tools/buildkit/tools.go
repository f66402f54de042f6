//go:build tools

// Package tools pins the standalone BuildKit daemon and its client.
package tools

import (
	_ "github.com/moby/buildkit/cmd/buildctl"
	_ "github.com/moby/buildkit/cmd/buildkitd"
)
