package mail

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"
	"time"
)

// LoginCode is the message that carries an e-mail sign-in code. name may be
// empty; validFor is rounded to whole minutes (at least one).
func LoginCode(to, name, code string, validFor time.Duration) Message {
	minutes := max(1, int(validFor.Round(time.Minute)/time.Minute))
	valid := fmt.Sprintf("%d minutes", minutes)
	if minutes == 1 {
		valid = "1 minute"
	}
	hello := greeting(name)
	const ignore = "If you did not try to sign in, you can ignore this message. " +
		"But whoever tried knows your password: please change it."

	text := fmt.Sprintf("%s\n\nYour weftid sign-in code is:\n\n    %s\n\nIt is valid for %s.\n\n%s\n",
		hello, code, valid, ignore)
	html := render(loginCodeHTML, struct {
		Greeting, Code, Valid, Ignore string
	}{hello, code, valid, ignore})
	return Message{To: to, Subject: "Your weftid sign-in code", Text: text, HTML: html}
}

// Generic is a general message: intro (blank lines separate paragraphs) and,
// when link is not "", a button labelled linkText that opens link. It serves
// invitations, password reset links and notices to admins.
func Generic(to, subject, intro, linkText, link string) Message {
	paragraphs := splitParagraphs(intro)
	if linkText == "" {
		linkText = link
	}

	var text strings.Builder
	text.WriteString(strings.Join(paragraphs, "\n\n"))
	text.WriteString("\n")
	if link != "" {
		fmt.Fprintf(&text, "\n%s:\n%s\n", linkText, link)
	}
	html := render(genericHTML, struct {
		Subject    string
		Paragraphs []string
		LinkText   string
		Link       string
	}{subject, paragraphs, linkText, link})
	return Message{To: to, Subject: subject, Text: text.String(), HTML: html}
}

func greeting(name string) string {
	if name = strings.TrimSpace(name); name == "" {
		return "Hello,"
	}
	return "Hello " + name + ","
}

func splitParagraphs(s string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// render executes one of the templates below. They are fixed and their data
// is plain strings, so an error here is a programming error.
func render(t *template.Template, data any) string {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		panic(fmt.Sprintf("mail: template %s: %v", t.Name(), err))
	}
	return b.String()
}

// layout wraps a message body in a plain, inline-styled page: mail clients
// ignore style sheets, and nothing is loaded from elsewhere.
const layout = `{{define "top"}}<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{.}}</title></head>
<body style="margin:0;padding:24px;background:#f4f5f7;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5;color:#1f2933;">
<div style="max-width:520px;margin:0 auto;background:#ffffff;border-radius:8px;padding:32px;">
{{end}}
{{define "bottom"}}<p style="margin:32px 0 0;font-size:13px;color:#6b7280;">Sent by weftid.</p>
</div>
</body>
</html>
{{end}}`

var loginCodeHTML = template.Must(template.Must(template.New("login_code").Parse(layout)).Parse(
	`{{template "top" "Your weftid sign-in code"}}<p style="margin:0 0 16px;">{{.Greeting}}</p>
<p style="margin:0 0 16px;">Your weftid sign-in code is:</p>
<p style="margin:0 0 16px;font-family:SFMono-Regular,Consolas,Menlo,monospace;font-size:32px;font-weight:bold;letter-spacing:6px;">{{.Code}}</p>
<p style="margin:0 0 16px;">It is valid for {{.Valid}}.</p>
<p style="margin:0;color:#4b5563;">{{.Ignore}}</p>
{{template "bottom"}}`))

var genericHTML = template.Must(template.Must(template.New("generic").Parse(layout)).Parse(
	`{{template "top" .Subject}}{{range .Paragraphs}}<p style="margin:0 0 16px;">{{.}}</p>
{{end}}{{if .Link}}<p style="margin:24px 0;"><a href="{{.Link}}" style="display:inline-block;padding:12px 20px;background:#1d4ed8;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:bold;">{{.LinkText}}</a></p>
<p style="margin:0;font-size:13px;color:#6b7280;word-break:break-all;">Or open this address: {{.Link}}</p>
{{end}}{{template "bottom"}}`))
