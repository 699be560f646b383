package graph

import (
	"encoding/json"
	"testing"
)

func TestKindTokensAreStableAndRoundTrip(t *testing.T) {
	tokens, names := map[string]Kind{}, map[string]Kind{}
	for _, k := range Kinds() {
		tok, name := k.Token(), k.String()
		if tok == "" || name == "" {
			t.Errorf("kind %d has token %q and name %q", int(k), tok, name)
		}
		if prev, dup := tokens[tok]; dup {
			t.Errorf("%v and %v share the token %q", prev, k, tok)
		}
		if prev, dup := names[name]; dup {
			t.Errorf("%v and %v share the name %q", prev, k, name)
		}
		tokens[tok], names[name] = k, k
		b, err := k.MarshalText()
		if err != nil || string(b) != tok {
			t.Errorf("%v marshals to %q, %v; want %q", k, b, err, tok)
		}
		for _, text := range []string{tok, name} {
			var back Kind
			if err := back.UnmarshalText([]byte(text)); err != nil || back != k {
				t.Errorf("%q reads as %v, %v; want %v", text, back, err, k)
			}
		}
	}
	// The tokens files hold; a rename here breaks every saved plan.
	for tok, k := range map[string]Kind{"access_denied": KindAccessDenied, "mailbox_not_enabled": KindMailboxNotEnabled,
		"not_found": KindNotFound, "quota_exceeded": KindQuotaExceeded, "consent_required": KindConsentRequired} {
		if k.Token() != tok {
			t.Errorf("%v has token %q, want %q", k, k.Token(), tok)
		}
	}
	var k Kind
	if err := k.UnmarshalText([]byte("meteor strike")); err == nil {
		t.Error("an unknown kind was read")
	}
	if _, err := Kind(-1).MarshalText(); err == nil {
		t.Error("an out-of-range kind was written")
	}
	// In JSON, as plan files hold it; the zero kind is left out.
	var doc struct {
		Kind Kind `json:"kind,omitempty"`
	}
	doc.Kind = KindAccessDenied
	if b, _ := json.Marshal(doc); string(b) != `{"kind":"access_denied"}` {
		t.Errorf("JSON %s", b)
	}
	doc.Kind = KindOther
	if b, _ := json.Marshal(doc); string(b) != `{}` {
		t.Errorf("JSON of the zero kind %s", b)
	}
	if err := json.Unmarshal([]byte(`{"kind":"access denied"}`), &doc); err != nil || doc.Kind != KindAccessDenied {
		t.Errorf("an old plan's display name reads as %v, %v", doc.Kind, err)
	}
}
