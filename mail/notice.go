package mail

import (
	"fmt"
	"html/template"
	"strings"
)

// Fact is one line of a notice's facts, such as {"IP address", "192.0.2.1"}.
type Fact struct{ Label, Value string }

// Notice is a message that tells someone what happened to their account: intro (blank lines
// separate paragraphs), the facts (when, from which IP address and browser) as a list, advice
// (what to do if it was not them) and, when link is not "", a button labelled linkText.
func Notice(to, subject, intro string, facts []Fact, advice, linkText, link string) Message {
	paragraphs := splitParagraphs(intro)
	advices := splitParagraphs(advice)
	var text strings.Builder
	text.WriteString(strings.Join(paragraphs, "\n\n"))
	text.WriteString("\n\n")
	for _, f := range facts {
		fmt.Fprintf(&text, "%s: %s\n", f.Label, f.Value)
	}
	if len(advices) > 0 {
		text.WriteString("\n" + strings.Join(advices, "\n\n") + "\n")
	}
	if link != "" {
		fmt.Fprintf(&text, "\n%s:\n%s\n", linkText, link)
	}
	html := render(noticeHTML, struct {
		Subject            string
		Paragraphs, Advice []string
		Facts              []Fact
		LinkText, Link     string
	}{subject, paragraphs, advices, facts, linkText, link})
	return Message{To: to, Subject: subject, Text: text.String(), HTML: html}
}

var noticeHTML = template.Must(template.Must(template.New("notice").Parse(layout)).Parse(
	`{{template "top" .Subject}}{{range .Paragraphs}}<p style="margin:0 0 16px;">{{.}}</p>
{{end}}<table role="presentation" style="margin:0 0 16px;border-collapse:collapse;">
{{range .Facts}}<tr><th scope="row" style="text-align:left;padding:2px 16px 2px 0;font-weight:normal;color:#6b7280;vertical-align:top;">{{.Label}}</th><td style="padding:2px 0;">{{.Value}}</td></tr>
{{end}}</table>
{{range .Advice}}<p style="margin:0 0 16px;">{{.}}</p>
{{end}}{{if .Link}}<p style="margin:24px 0;"><a href="{{.Link}}" style="display:inline-block;padding:12px 20px;background:#1d4ed8;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:bold;">{{.LinkText}}</a></p>
{{end}}{{template "bottom"}}`))
