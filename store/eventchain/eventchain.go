// Package eventchain defines the hash that links weftid's event log into a chain: each event
// stores a SHA-256 over its own columns and the previous event's hash, so changing or removing
// an event breaks the hash of every event after it. It is a leaf package because both the store
// (which writes the hash with each event) and the migration that chains the events written
// before it existed compute the same hash.
//
// # The hashed content
//
// The hash of an event is the lowercase hex SHA-256 of
//
//	"weftid event chain v1\n" || f(id) || f(at) || f(type) || f(actor_id) || f(user_id) ||
//	f(ip) || f(user_agent) || f(details) || f(prev)
//
// where f(x) is the length of x in bytes as an 8-byte big-endian integer followed by those
// bytes, so no byte can be moved from one field into its neighbour. The fields are the columns of
// the events row exactly as stored: id, at (Unix seconds), actor_id and user_id as decimal
// ASCII (a NULL id as the empty string, which no id is), type, ip, user_agent and details (the
// JSON text byte for byte, not re-encoded) as their bytes, and prev the previous event's hash
// (the event with the next lower id) as it is stored, or the empty string for the first event.
package eventchain

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strconv"
)

// prefix names the scheme and its version; a change to the content hashed changes it.
const prefix = "weftid event chain v1\n"

// Link is one event's columns exactly as stored, and Prev the previous event's stored hash ("" for
// the first event).
type Link struct {
	ID        int64
	At        int64
	Type      string
	ActorID   *int64
	UserID    *int64
	IP        string
	UserAgent string
	Details   string
	Prev      string
}

// Hash is the hash of l as described in the package documentation: 64 lowercase hex digits.
func Hash(l Link) string {
	h := sha256.New()
	h.Write([]byte(prefix))
	field(h, strconv.FormatInt(l.ID, 10))
	field(h, strconv.FormatInt(l.At, 10))
	field(h, l.Type)
	field(h, optional(l.ActorID))
	field(h, optional(l.UserID))
	field(h, l.IP)
	field(h, l.UserAgent)
	field(h, l.Details)
	field(h, l.Prev)
	return hex.EncodeToString(h.Sum(nil))
}

func field(h hash.Hash, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}

func optional(id *int64) string {
	if id == nil {
		return ""
	}
	return strconv.FormatInt(*id, 10)
}
