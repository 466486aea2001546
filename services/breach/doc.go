// Package breach owns breach detection: the Have I Been Pwned range client (Client), the
// verdict on a password when it is set (Service.Check, Record) and the weekly re-check of
// every stored password's fingerprint (Service.Step and Run).
package breach
