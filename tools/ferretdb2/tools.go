//go:build tools

// Package tools pins FerretDB 2 (the reference server's MongoDB wire-protocol front end).
package tools

import _ "github.com/FerretDB/FerretDB/v2/cmd/ferretdb"
