package auth

import "strings"

// DNSName reports whether name is a domain name: dot-separated labels of ASCII letters, digits
// and hyphens, each of 1 to 63 characters and neither starting nor ending with a hyphen, at most
// 253 characters in all. A wildcard or an underscore is not one.
func DNSName(name string) bool {
	if len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
