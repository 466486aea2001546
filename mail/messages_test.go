package mail_test

import (
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/mail"
)

func TestLoginCode(t *testing.T) {
	tests := []struct {
		name     string
		validFor time.Duration
		wantText []string
	}{
		{"Ann", 10 * time.Minute, []string{"Hello Ann,", "123456", "valid for 10 minutes", "ignore", "change it"}},
		{"", 30 * time.Second, []string{"Hello,", "123456", "valid for 1 minute."}},
	}
	for _, tt := range tests {
		msg := mail.LoginCode("ann@example.com", tt.name, "123456", tt.validFor)
		if msg.To != "ann@example.com" || msg.Subject != "Your weftid sign-in code" {
			t.Errorf("To, Subject = %q, %q", msg.To, msg.Subject)
		}
		for _, want := range tt.wantText {
			if !strings.Contains(msg.Text, want) {
				t.Errorf("Text %q does not contain %q", msg.Text, want)
			}
		}
		if !strings.Contains(msg.HTML, "123456") {
			t.Errorf("HTML does not contain the code:\n%s", msg.HTML)
		}
	}
}

func TestBuildersEscapeHTML(t *testing.T) {
	const evil = `<script>alert("x")</script>`
	tests := []struct {
		name string
		msg  mail.Message
	}{
		{"login code name", mail.LoginCode("a@example.com", evil, "123456", time.Minute)},
		{"generic intro", mail.Generic("a@example.com", "Hi", "Dear "+evil, "Open", "https://example.com/x")},
		{"generic subject and link text", mail.Generic("a@example.com", evil, "Hello.", evil, "https://example.com/x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(tt.msg.HTML, "<script>") {
				t.Errorf("HTML contains an unescaped <script>:\n%s", tt.msg.HTML)
			}
			if !strings.Contains(tt.msg.HTML, "&lt;script&gt;") {
				t.Errorf("HTML lacks the escaped name:\n%s", tt.msg.HTML)
			}
		})
	}
}

func TestGeneric(t *testing.T) {
	t.Run("with link", func(t *testing.T) {
		link := "https://id.example.com/password/reset/abc?x=1&y=2"
		msg := mail.Generic("a@example.com", "Reset your password", "First.\n\nSecond.", "Choose a new password", link)
		for _, want := range []string{"First.\n\nSecond.", "Choose a new password:\n" + link} {
			if !strings.Contains(msg.Text, want) {
				t.Errorf("Text %q does not contain %q", msg.Text, want)
			}
		}
		for _, want := range []string{`href="https://id.example.com/password/reset/abc?x=1&amp;y=2"`, ">Choose a new password</a>", "<p style=\"margin:0 0 16px;\">Second.</p>"} {
			if !strings.Contains(msg.HTML, want) {
				t.Errorf("HTML does not contain %q:\n%s", want, msg.HTML)
			}
		}
	})
	t.Run("without link", func(t *testing.T) {
		msg := mail.Generic("a@example.com", "Notice", "Something happened.", "Open", "")
		if strings.Contains(msg.HTML, "<a ") || strings.Contains(msg.Text, "Open") {
			t.Errorf("a message without a link has one:\n%s\n%s", msg.Text, msg.HTML)
		}
	})
	t.Run("unsafe link scheme", func(t *testing.T) {
		msg := mail.Generic("a@example.com", "Hi", "Hello.", "Open", "javascript:alert(1)")
		if strings.Contains(msg.HTML, `href="javascript:`) {
			t.Errorf("HTML links to javascript:\n%s", msg.HTML)
		}
	})
}
