package views

import (
	"slices"
	"testing"

	"github.com/weftid/weftid/store"
)

// Every event type has a label and sits in exactly one group of the type filter: a type added to
// store.EventTypes without one fails here.
func TestEveryEventTypeHasALabel(t *testing.T) {
	seen := map[store.EventType]string{}
	labels := map[string]store.EventType{}
	for _, g := range eventGroups {
		for typ, label := range g.labels {
			if prev, ok := seen[typ]; ok {
				t.Errorf("%s is in two groups: %q and %q", typ, prev, g.label)
			}
			seen[typ] = g.label
			if other, ok := labels[label]; ok {
				t.Errorf("%s and %s share the label %q", typ, other, label)
			}
			labels[label] = typ
			if !slices.Contains(store.EventTypes, typ) {
				t.Errorf("group %q labels %s, which is not in store.EventTypes", g.label, typ)
			}
		}
	}
	for _, typ := range store.EventTypes {
		if _, ok := seen[typ]; !ok {
			t.Errorf("event type %s has no label: add it to a group of eventGroups", typ)
		}
		if EventLabel(typ) == string(typ) || EventLabel(typ) == "" {
			t.Errorf("EventLabel(%s) = %q", typ, EventLabel(typ))
		}
	}
	var grouped []store.EventType
	for _, g := range eventTypeGroups(store.EventTypes) {
		if g.Label == "Other" {
			t.Errorf("types with no group: %v", g.Types)
		}
		grouped = append(grouped, g.Types...)
	}
	if len(grouped) != len(store.EventTypes) {
		t.Errorf("the filter groups %d types, want %d", len(grouped), len(store.EventTypes))
	}
	if got := EventLabel("made_up"); got != "made_up" {
		t.Errorf("a type with no label shows as %q, want its name", got)
	}
}

func TestEventDetails(t *testing.T) {
	got := eventDetails(map[string]any{
		"passkey_id": float64(3), "name": "Work laptop", "totp": true, "resend": false,
		"empty": "", "none": nil, "list": []any{"a", float64(1)}, "ratio": 0.5,
	})
	want := []detail{{"List", `["a",1]`}, {"Name", "Work laptop"}, {"Passkey ID", "3"},
		{"Ratio", "0.5"}, {"Resend", "no"}, {"TOTP", "yes"}}
	if !slices.Equal(got, want) {
		t.Errorf("eventDetails:\n got %q\nwant %q", got, want)
	}
	if got := eventDetails(nil); len(got) != 0 {
		t.Errorf("no details: %q", got)
	}
}
