package proxy

import (
	"net/url"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

func TestLongestPrefixWins(t *testing.T) {
	apps := []store.ProxyApp{
		{ID: 1, Host: "wiki.example.test", PathPrefix: ""},
		{ID: 2, Host: "wiki.example.test", PathPrefix: "/admin"},
		{ID: 3, Host: "wiki.example.test", PathPrefix: "/admin/audit"},
		{ID: 4, Host: "chat.example.test:8443", PathPrefix: "/chat"},
	}
	tbl := &appTable{byHost: map[string][]store.ProxyApp{}}
	for _, a := range apps {
		tbl.byHost[a.Host] = append(tbl.byHost[a.Host], a)
	}
	tbl.sortPrefixes()
	for _, tc := range []struct {
		host, path string
		want       int64 // 0: none
	}{
		{"wiki.example.test", "/", 1},
		{"wiki.example.test", "/administrator", 1},
		{"wiki.example.test", "/admin", 2},
		{"wiki.example.test", "/admin/users", 2},
		{"wiki.example.test", "/admin/audit", 3},
		{"wiki.example.test", "/admin/audit/2026", 3},
		{"wiki.example.test", "/admin/auditor", 2},
		{"chat.example.test:8443", "/chat", 4},
		{"chat.example.test:8443", "/chat/x", 4},
		{"chat.example.test:8443", "/", 0},
		{"chat.example.test:8443", "/chatroom", 0},
		{"chat.example.test", "/chat", 0},
		{"other.example.test", "/", 0},
	} {
		a, ok := tbl.match(tc.host, tc.path)
		if (tc.want == 0) != !ok || (ok && a.ID != tc.want) {
			t.Errorf("match(%q, %q) = %d, %v; want %d", tc.host, tc.path, a.ID, ok, tc.want)
		}
	}
}

func TestRequestPathIsCleanedBeforeMatching(t *testing.T) {
	s := &Service{base: mustURL("https://id.example.test")}
	for _, tc := range []struct {
		uri, path string
		ok        bool
	}{
		{"/", "/", true},
		{"/a/b?c=d", "/a/b", true},
		{"/a/../b", "/b", true},
		{"/a/./b/", "/a/b", true},
		{"/a%2F..%2Fb", "/b", true},
		{"//a", "/a", true},
		{"", "/", true},
		{"a", "", false},
		{"/a b", "", false},
		{"/a\tb", "", false},
		{"/%zz", "", false},
		{"/é", "", false},
	} {
		tg, ok := s.parseRequest(Request{Proto: "https", Host: "wiki.example.test", URI: tc.uri})
		if ok != tc.ok || (ok && tg.path != tc.path) {
			t.Errorf("parseRequest(%q) = %q, %v; want %q, %v", tc.uri, tg.path, ok, tc.path, tc.ok)
		}
	}
}

func TestCacheKeepsNoAnswerReadBeforeARevocation(t *testing.T) {
	c := newCache(15*time.Second, 4)
	now := time.Unix(1000, 0)
	e := entry{host: "h", allowed: true, ends: now.Add(time.Hour), loaded: now}

	gen := c.generation()
	c.clear() // a sign-out committed while the check was reading
	c.put("a", e, gen)
	if _, ok := c.get("a", now); ok {
		t.Error("an answer read before the revocation was kept")
	}
	c.put("a", e, c.generation())
	if _, ok := c.get("a", now.Add(14*time.Second)); !ok {
		t.Error("a fresh answer was not kept")
	}
	if _, ok := c.get("a", now.Add(15*time.Second)); ok {
		t.Error("an answer was kept past the ttl")
	}
	short := e
	short.ends = now.Add(time.Second)
	c.put("b", short, c.generation())
	if _, ok := c.get("b", now.Add(time.Second)); ok {
		t.Error("an answer was kept past its session's end")
	}
	// Bounded: a full cache drops a quarter before it adds.
	for _, k := range []string{"c", "d", "e", "f", "g"} {
		c.put(k, e, c.generation())
	}
	if n := c.len(); n > 4 {
		t.Errorf("cache holds %d answers, bound 4", n)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
