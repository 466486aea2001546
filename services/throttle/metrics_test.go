package throttle_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/weftid/weftid/metrics"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// Every refusal is counted once under its rule's name: by Take (a limit, or the ceiling across
// all addresses, as NAME_ceiling), by Limited (the caller refuses), and by Refused. A request
// allowed is not counted.
func TestRefusalsAreCountedByRule(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l, _ := newLimiter(t, func() time.Time { return now })
	m := metrics.New()
	l.SetMetrics(m)
	refusals := func(rule string) float64 {
		v, err := m.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range v {
			if f.GetName() != "weftid_throttle_refusals_total" {
				continue
			}
			for _, s := range f.GetMetric() {
				if s.GetLabel()[0].GetValue() == rule {
					return s.GetCounter().GetValue()
				}
			}
		}
		return 0
	}
	ctx := context.Background()

	rule := throttle.ResetRequestsPerAccount
	key := rule.For(throttle.EmailKey("ada@example.com"))
	for range rule.Max() {
		if ok, err := l.Take(ctx, key); err != nil || !ok {
			t.Fatalf("within the limit: %v %v", ok, err)
		}
	}
	if got := refusals(rule.Name()); got != 0 {
		t.Fatalf("%d refusals counted before any refusal", int(got))
	}
	if ok, err := l.Take(ctx, key); err != nil || ok {
		t.Fatalf("over the limit: %v %v, want refused", ok, err)
	}
	if limited, err := l.Limited(ctx, key); err != nil || !limited {
		t.Fatalf("Limited over the limit: %v %v", limited, err)
	}
	if err := l.Refused(ctx, key, store.Origin{}.Event(now, store.EventLoginFailed, nil, nil, nil)); err != nil {
		t.Fatal(err)
	}
	if got := refusals(rule.Name()); got != 3 {
		t.Errorf("%s refusals = %v, want 3 (Take, Limited, Refused)", rule.Name(), got)
	}

	ceiling := throttle.PasskeyBeginPerIP
	refused := 0
	for i := range 1000 {
		ok, err := l.Take(ctx, ceiling.For(throttle.IPKey(fmt.Sprintf("198.51.%d.%d", i/250, i%250))))
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("1000 addresses at once never reached the ceiling")
	}
	if got := refusals(ceiling.Name() + "_ceiling"); got != float64(refused) {
		t.Errorf("%s_ceiling refusals = %v, want %d", ceiling.Name(), got, refused)
	}
	if got := refusals(ceiling.Name()); got != 0 {
		t.Errorf("%s refusals = %v, want 0 (no address reached its own limit)", ceiling.Name(), got)
	}
}
