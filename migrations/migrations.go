// Package migrations holds the goose SQL migrations, embedded into the binary.
package migrations

import "embed"

// FS is the embedded folder of goose SQL migrations, applied by store.Open.
//
//go:embed *.sql
var FS embed.FS
