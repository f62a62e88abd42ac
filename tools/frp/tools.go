//go:build tools

// Package tools names the frp commands this module builds, so that `go mod tidy` keeps every
// module they need in go.mod and go.sum.
package tools

import (
	_ "github.com/fatedier/frp/cmd/frpc"
	_ "github.com/fatedier/frp/cmd/frps"
)
