package mail

import "testing"

func TestParseURL(t *testing.T) {
	tests := []struct {
		url  string
		want smtpTarget
	}{
		{"smtp://mail.example.com", smtpTarget{host: "mail.example.com", port: 587}},
		{"smtps://mail.example.com", smtpTarget{host: "mail.example.com", port: 465, implicit: true}},
		{"smtp://mail.example.com:25?starttls", smtpTarget{host: "mail.example.com", port: 25, startTLS: true}},
		{"smtp://mail.example.com?starttls=true", smtpTarget{host: "mail.example.com", port: 587, startTLS: true}},
		{"smtp://u%40x.org:p%3Ass%40@[::1]:2525", smtpTarget{host: "::1", port: 2525, user: "u@x.org", pass: "p:ss@"}},
		{"smtp://ann@mail.example.com", smtpTarget{host: "mail.example.com", port: 587, user: "ann"}},
	}
	for _, tt := range tests {
		got, err := parseURL(tt.url)
		if err != nil {
			t.Errorf("parseURL(%q): %v", tt.url, err)
			continue
		}
		if *got != tt.want {
			t.Errorf("parseURL(%q) = %+v, want %+v", tt.url, *got, tt.want)
		}
	}
}
