package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/weftid/weftid/migrations"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

// TestSAMLKeyMigration: the single key of before migration 19 becomes the first of the rotating
// keys, sealed as it was, and going down brings it back.
func TestSAMLKeyMigration(t *testing.T) {
	ctx := context.Background()
	s, path := newStore(t)
	db := secondHandle(t, path)
	p, err := migrations.Provider(db.DB, storetest.Postgres())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 18); err != nil {
		t.Fatalf("down to 18: %v", err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO saml_idp_key (id, certificate, private_key, created_at) VALUES (1, ?, ?, 100)`,
		[]byte("\xc0\xff\xee"), []byte("\x5e\xa1\xed")); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	keys, err := s.SAMLSigningKeys(ctx, time.Unix(200, 0))
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys after up: %+v, %v; want the old one", keys, err)
	}
	k := keys[0]
	if k.KID != "saml_idp_key" || string(k.Certificate) != "\xc0\xff\xee" || string(k.SealedKey) != "\x5e\xa1\xed" ||
		k.CreatedAt.Unix() != 100 || k.ActivatesAt.Unix() != 100 || !k.RetiresAt.IsZero() {
		t.Errorf("migrated key %+v", k)
	}
	if _, err := p.DownTo(ctx, 18); err != nil {
		t.Fatalf("down to 18 again: %v", err)
	}
	if n := count(t, db, `SELECT count(*) FROM saml_idp_key WHERE certificate = ? AND private_key = ? AND created_at = 100`,
		[]byte("\xc0\xff\xee"), []byte("\x5e\xa1\xed")); n != 1 {
		t.Errorf("after down, saml_idp_key holds %d copies of the key, want 1", n)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
}

func TestSAMLParticipantsAndLogoutSteps(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "a@example.com", "A", store.RoleUser)
	a := newSAMLSP(t, s, "https://a.example/metadata")
	b := newSAMLSP(t, s, "https://b.example/metadata")
	part := func(session string, sp store.SAMLServiceProvider, index string) store.SAMLParticipant {
		return store.SAMLParticipant{SessionHash: []byte(session), SPID: sp.ID, UserID: u.ID, NameID: u.Email,
			NameIDFormat: "email", SessionIndex: index, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	}
	for _, p := range []store.SAMLParticipant{part("s1", a, "i1"), part("s1", b, "i1"), part("s2", a, "i2"), part("s1", a, "i1-new")} {
		if err := s.RecordSAMLParticipant(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	of, err := s.SAMLParticipantsOfSession(ctx, []byte("s1"), t0)
	if err != nil || len(of) != 2 || of[0].SessionIndex != "i1-new" {
		t.Errorf("participants of s1: %+v, %v; want a (its newest index) and b", of, err)
	}
	if got, _ := s.SAMLParticipantsFor(ctx, a.ID, u.Email, "", t0); len(got) != 2 {
		t.Errorf("every session of the NameID at a: %d, want 2", len(got))
	}
	if got, _ := s.SAMLParticipantsFor(ctx, a.ID, u.Email, "i2", t0); len(got) != 1 || string(got[0].SessionHash) != "s2" {
		t.Errorf("the session of index i2 at a: %+v, want s2", got)
	}
	if got, _ := s.SAMLParticipantsOfSession(ctx, []byte("s1"), t0.Add(time.Hour)); len(got) != 0 {
		t.Errorf("expired participants are still listed: %d", len(got))
	}

	chain := []byte("chain")
	steps := []store.SAMLLogoutStep{
		{Chain: chain, Kind: store.SAMLLogoutRequest, SPID: b.ID, UserID: u.ID, NameID: u.Email, ExpiresAt: t0.Add(time.Hour)},
		{Chain: chain, Kind: store.SAMLLogoutResponse, SPID: a.ID, InResponseTo: "req-1", RelayState: "rs", ExpiresAt: t0.Add(time.Hour)},
	}
	if err := s.AddSAMLLogoutSteps(ctx, steps); err != nil {
		t.Fatal(err)
	}
	first, err := s.NextSAMLLogoutStep(ctx, chain, t0)
	if err != nil || first.Kind != store.SAMLLogoutRequest || first.SPID != b.ID {
		t.Fatalf("first step %+v, %v", first, err)
	}
	if err := s.SentSAMLLogoutStep(ctx, first.ID, "id-out"); err != nil {
		t.Fatal(err)
	}
	if err := s.SentSAMLLogoutStep(ctx, first.ID, "id-again"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("sending a step twice: %v, want ErrNotFound", err)
	}
	second, err := s.NextSAMLLogoutStep(ctx, chain, t0)
	if err != nil || second.Kind != store.SAMLLogoutResponse || second.InResponseTo != "req-1" || second.RelayState != "rs" {
		t.Fatalf("second step %+v, %v", second, err)
	}
	if err := s.MarkSAMLLogoutPartial(ctx, chain); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeSAMLLogoutStep(ctx, 0, "id-out", t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("taking an expired step: %v, want ErrNotFound", err)
	}
	took, err := s.TakeSAMLLogoutStep(ctx, 0, "id-out", t0)
	if err != nil || took.ID != first.ID || took.Partial {
		t.Errorf("taking the answered step: %+v, %v; want step %d, not marked partial (a request)", took, err, first.ID)
	}
	if _, err := s.TakeSAMLLogoutStep(ctx, 0, "id-out", t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("taking it twice: %v, want ErrNotFound", err)
	}
	last, err := s.TakeSAMLLogoutStep(ctx, second.ID, "", t0)
	if err != nil || !last.Partial {
		t.Errorf("the last step %+v, %v; want it marked partial", last, err)
	}
	// Removing a service provider drops what it took part in.
	if err := s.DeleteSAMLServiceProvider(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SAMLParticipantsOfSession(ctx, []byte("s2"), t0); len(got) != 0 {
		t.Errorf("participants of a removed SP remain: %+v", got)
	}
}
