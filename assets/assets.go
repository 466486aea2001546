// Package assets embeds the stylesheets and scripts and serves them under content-hashed URLs,
// so they can be cached for a year and still change the moment a release changes them.
package assets

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"
	"strings"
)

//go:embed app.css copy.js localtime.js passkey.js saml-post.js vendor/htmx.min.js vendor/pico.min.css
var files embed.FS

// File is one embedded asset.
type File struct {
	Data        []byte
	ContentType string
	URL         string // /assets/<name with the content hash before its extension>
}

// table is built once from the embedded files; it never changes while the program runs.
var table = func() (t struct{ byName, byURL map[string]*File }) {
	t.byName, t.byURL = map[string]*File{}, map[string]*File{}
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		ext := path.Ext(name)
		f := &File{
			Data:        data,
			ContentType: mime.TypeByExtension(ext),
			URL:         "/assets/" + strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext,
		}
		t.byName[name], t.byURL[f.URL] = f, f
		return nil
	})
	if err != nil {
		panic("assets: " + err.Error())
	}
	return t
}()

// URL returns the hashed URL of an embedded file such as "app.css" or "vendor/htmx.min.js".
// It panics on an unknown name: that is a programming error caught by the first render.
func URL(name string) string {
	f, ok := table.byName[name]
	if !ok {
		panic("assets: no embedded file " + name)
	}
	return f.URL
}

// Lookup finds the asset served at a hashed URL path.
func Lookup(urlPath string) (*File, bool) {
	f, ok := table.byURL[urlPath]
	return f, ok
}
