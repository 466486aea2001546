package throttle_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

func TestLimitsTable(t *testing.T) {
	names := map[string]bool{}
	for r := throttle.PasswordPerAccount; r <= throttle.ProxyCodePerIP; r++ {
		if r.Max() < 1 || r.Window() <= 0 || r.Kind() == "" || r.Name() == "" || names[r.Name()] {
			t.Errorf("rule %d = %q, max %d, window %v, kind %q; want a unique name, a positive limit and window and a kind", r, r.Name(), r.Max(), r.Window(), r.Kind())
		}
		names[r.Name()] = true
	}
	// A person signing in begins a handful of passkey ceremonies, never 60 in 15 minutes.
	if throttle.PasskeyBeginPerIP.Max() != 60 || throttle.PasskeyBeginPerIP.Window() != 15*time.Minute {
		t.Errorf("PasskeyBeginPerIP = %d in %v, want 60 in 15 minutes", throttle.PasskeyBeginPerIP.Max(), throttle.PasskeyBeginPerIP.Window())
	}
	if throttle.PasswordPerAccount.Max() > throttle.PasswordPerIP.Max() {
		t.Errorf("per-account limit %d is looser than per-IP %d", throttle.PasswordPerAccount.Max(), throttle.PasswordPerIP.Max())
	}
	// The issue: "resend at most 3 times in 5 minutes", after the sign-in's first code.
	if throttle.CodeMails.Max() != 4 || throttle.CodeMails.Window() != 5*time.Minute {
		t.Errorf("CodeMails = %d in %v, want the first code and 3 resends in 5 minutes", throttle.CodeMails.Max(), throttle.CodeMails.Window())
	}
	// The README's documented figures.
	for _, tt := range []struct {
		rule   throttle.Rule
		max    int
		window time.Duration
	}{
		{throttle.PasswordPerAccount, 5, 15 * time.Minute},
		{throttle.ResetRequestsPerAccount, 3, time.Hour},
		{throttle.ResetRequestsPerIP, 20, time.Hour},
		{throttle.ResetLinkPerIP, 20, 15 * time.Minute},
	} {
		if tt.rule.Max() != tt.max || tt.rule.Window() != tt.window {
			t.Errorf("rule %d = %d in %v, want %d in %v", tt.rule, tt.rule.Max(), tt.rule.Window(), tt.max, tt.window)
		}
	}
}

func newLimiter(t *testing.T, now func() time.Time) (*throttle.Limiter, *store.Store) {
	t.Helper()
	st := storetest.Open(t)
	return throttle.New(st, now), st
}

// Take counts and checks in one transaction: concurrent requests let exactly Max through.
func TestTakeIsExactUnderConcurrency(t *testing.T) {
	l, _ := newLimiter(t, nil)
	ctx := context.Background()
	check := throttle.SAMLHoldPerIP.For(throttle.IPKey("192.0.2.1"))
	n := throttle.SAMLHoldPerIP.Max() + 25
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ok, err := l.Take(ctx, check)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	if allowed != throttle.SAMLHoldPerIP.Max() {
		t.Errorf("%d of %d requests allowed, want exactly %d", allowed, n, throttle.SAMLHoldPerIP.Max())
	}
	// Another address has its own count.
	if ok, err := l.Take(ctx, throttle.SAMLHoldPerIP.For(throttle.IPKey("192.0.2.2"))); err != nil || !ok {
		t.Errorf("another IP: Take = %v, %v; want true", ok, err)
	}
}

// An account's failures restart after a success; an IP's do not. Windows are half-open.
func TestFailuresSinceSuccessAndWindow(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l, _ := newLimiter(t, func() time.Time { return now })
	ctx := context.Background()
	acct := throttle.PasswordPerAccount.For(throttle.EmailKey("ann@example.com"))
	ip := throttle.PasswordPerIP.For(throttle.IPKey("192.0.2.1"))
	for range throttle.PasswordPerAccount.Max() - 1 {
		if err := l.FailNow(ctx, acct, ip); err != nil {
			t.Fatal(err)
		}
	}
	if limited, _ := l.Limited(ctx, acct); limited {
		t.Fatal("limited one failure early")
	}
	if err := l.FailNow(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if limited, _ := l.Limited(ctx, acct); !limited {
		t.Fatal("not limited at the limit")
	}
	if err := l.SucceedNow(ctx, acct, ip); err != nil {
		t.Fatal(err)
	}
	if limited, _ := l.Limited(ctx, acct); limited {
		t.Error("a success did not restart the account's count")
	}
	// The IP's failures still count: 4 so far; its success did not wipe them.
	ipLimited := func() bool { l, err := l.Limited(ctx, ip); return err == nil && l }
	for range throttle.PasswordPerIP.Max() - (throttle.PasswordPerAccount.Max() - 1) {
		if ipLimited() {
			t.Fatal("the IP was limited early")
		}
		if err := l.FailNow(ctx, ip); err != nil {
			t.Fatal(err)
		}
	}
	if !ipLimited() {
		t.Fatal("the IP is not limited at its limit")
	}
	// An attempt at T counts while now < T+window.
	now = now.Add(throttle.PasswordPerIP.Window() - time.Second)
	if !ipLimited() {
		t.Error("attempts stopped counting before the window ended")
	}
	now = now.Add(time.Second)
	if ipLimited() {
		t.Error("attempts still count when the window has ended")
	}
}

// A reservation counts at once; Drop uncounts it and Settle makes it a success.
func TestReserveSettleDrop(t *testing.T) {
	l, st := newLimiter(t, nil)
	ctx := context.Background()
	acct := throttle.PasswordPerAccount.For(throttle.EmailKey("bob@example.com"))
	ip := throttle.PasswordPerIP.For(throttle.IPKey("192.0.2.9"))
	var last throttle.Reservation
	for i := range throttle.PasswordPerAccount.Max() {
		r, limited, err := l.Reserve(ctx, acct, ip)
		if err != nil || limited {
			t.Fatalf("reserve %d: limited %v, err %v", i, limited, err)
		}
		last = r
	}
	if refused, limited, _ := l.Reserve(ctx, acct, ip); !limited || refused.Hit() != acct {
		t.Fatalf("a reservation past the limit: limited %v by %v; want limited by %v", limited, refused.Hit(), acct)
	}
	if err := l.Drop(ctx, last); err != nil {
		t.Fatal(err)
	}
	r, limited, err := l.Reserve(ctx, acct, ip)
	if err != nil || limited {
		t.Fatalf("after a drop: limited %v, err %v", limited, err)
	}
	if err := st.InTx(ctx, func(tx *store.Tx) error { return l.Settle(ctx, tx, r) }); err != nil {
		t.Fatal(err)
	}
	if limited, _ := l.Limited(ctx, acct); limited {
		t.Error("a settled reservation did not restart the account's count")
	}
	if _, _, err := l.Reserve(ctx, acct, throttle.CodePerIP.For("ip:x")); err == nil {
		t.Error("a reservation mixing kinds was accepted")
	}
}

// A flood from many addresses, each within its own limit, stops at the rule's ceiling, and
// what the ceiling refuses writes nothing; one address cannot use the ceiling up by itself.
func TestCeilingBoundsManyAddresses(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l, st := newLimiter(t, func() time.Time { return now })
	ctx := context.Background()
	rule := throttle.PasskeyBeginPerIP
	for i := range rule.Max() {
		if ok, err := l.Take(ctx, rule.For(throttle.IPKey("192.0.2.1"))); err != nil || !ok {
			t.Fatalf("one address, request %d within its limit: %v, %v", i+1, ok, err)
		}
	}
	allowed, refusedIP := 0, ""
	for i := range 1000 {
		ip := fmt.Sprintf("198.51.%d.%d", i/250, i%250)
		ok, err := l.Take(ctx, rule.For(throttle.IPKey(ip)))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			allowed++
		} else if refusedIP == "" {
			refusedIP = ip
		}
	}
	if allowed == 0 || allowed >= 1000-rule.Max() {
		t.Fatalf("%d of 1000 addresses allowed after one used its whole limit; want some, and a ceiling", allowed)
	}
	if n, err := st.CountAttempts(ctx, rule.Kind(), throttle.IPKey(refusedIP), now.Add(-time.Hour)); err != nil || n != 0 {
		t.Errorf("a request refused at the ceiling stored %d attempts (%v), want none", n, err)
	}
	// The ceiling refills with time.
	now = now.Add(time.Second)
	if ok, err := l.Take(ctx, rule.For(throttle.IPKey(refusedIP))); err != nil || !ok {
		t.Errorf("a second later: %v, %v; want allowed", ok, err)
	}
}
