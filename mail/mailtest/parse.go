package mailtest

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
)

// parse decodes a raw message into its subject and text and HTML bodies.
// It is lenient: whatever cannot be decoded is left empty, and Raw is always set.
func parse(raw []byte) Received {
	msg := Received{Raw: raw}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return msg
	}
	dec := mime.WordDecoder{}
	if subject, err := dec.DecodeHeader(m.Header.Get("Subject")); err == nil {
		msg.Subject = subject
	} else {
		msg.Subject = m.Header.Get("Subject")
	}
	walk(&msg, m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body)
	return msg
}

// walk descends into multipart bodies and keeps the first text/plain and
// text/html parts it finds (attachments excluded).
func walk(msg *Received, contentType, encoding string, body io.Reader) {
	if contentType == "" {
		contentType = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			if strings.HasPrefix(strings.ToLower(p.Header.Get("Content-Disposition")), "attachment") {
				continue
			}
			walk(msg, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
		}
	}

	var text string
	switch mediaType {
	case "text/plain", "text/html":
		b, err := io.ReadAll(decoder(encoding, body))
		if err != nil {
			return
		}
		text = strings.ReplaceAll(string(b), "\r\n", "\n")
	default:
		return
	}
	if mediaType == "text/plain" && msg.Text == "" {
		msg.Text = text
	}
	if mediaType == "text/html" && msg.HTML == "" {
		msg.HTML = text
	}
}

func decoder(encoding string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, newlineStripper{r})
	default:
		return r
	}
}

// newlineStripper drops CR and LF so that line-wrapped base64 decodes.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		out := p[:0]
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' {
				out = append(out, c)
			}
		}
		if len(out) > 0 || err != nil {
			return len(out), err
		}
	}
}

var (
	codePattern = regexp.MustCompile(`\b[0-9]{6}\b`)
	urlPattern  = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s<>"']+`)
)

// FindCode returns the first standalone 6-digit number in text (a sign-in
// code), or "" when there is none.
func FindCode(text string) string {
	return codePattern.FindString(text)
}

// FindLink returns the first URL in text that starts with prefix, without
// trailing punctuation, or "" when there is none.
func FindLink(text, prefix string) string {
	for _, u := range urlPattern.FindAllString(text, -1) {
		u = strings.TrimRight(u, ".,;:!?)]}")
		if strings.HasPrefix(u, prefix) {
			return u
		}
	}
	return ""
}
