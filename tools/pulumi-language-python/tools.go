//go:build tools

// Package tools pins the Python language host. Its own module is not served by
// the Go module proxy; the older sdk/v3 module still contains it as a package.
package tools

import _ "github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python"
