package jsondoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestMarshalStampsVersionFirst(t *testing.T) {
	type doc struct {
		OK    bool     `json:"ok"`
		Items []string `json:"items"`
	}
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"struct", doc{OK: true, Items: []string{"a"}}, `{"format_version":"1.0","ok":true,"items":["a"]}`},
		{"empty struct", struct{}{}, `{"format_version":"1.0"}`},
		{"map", map[string]int{"b": 2, "a": 1}, `{"format_version":"1.0","a":1,"b":2}`},
	} {
		got, err := Marshal(tc.v)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if string(got) != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
		if !json.Valid(got) {
			t.Errorf("%s: not valid JSON: %s", tc.name, got)
		}
	}
	if _, err := Marshal([]int{1}); err == nil {
		t.Error("a JSON array was stamped; want an error")
	}
}

func TestWriteAndWriteLine(t *testing.T) {
	var doc, line bytes.Buffer
	v := map[string]any{"type": "result", "ok": true}
	if err := Write(&doc, v); err != nil {
		t.Fatal(err)
	}
	if err := WriteLine(&line, v); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.String(), "{\n  \"format_version\": \"1.0\",\n") {
		t.Errorf("document does not start with its version:\n%s", doc.String())
	}
	if got := line.String(); got != `{"format_version":"1.0","ok":true,"type":"result"}`+"\n" {
		t.Errorf("line = %q", got)
	}
}

func TestCheckVersion(t *testing.T) {
	for _, tc := range []struct {
		doc     string
		noVer   bool
		newer   bool
		accepts bool
	}{
		{doc: `{"format_version":"1.0"}`, accepts: true},
		{doc: `{"format_version":"1.7"}`, accepts: true},
		{doc: `{"format_version":1}`, accepts: true},
		{doc: `{"format_version":"2.0"}`, newer: true},
		{doc: `{"format_version":2}`, newer: true},
		{doc: `{"mailboxes":[]}`, noVer: true},
		{doc: `{"format_version":"x"}`, noVer: true},
		{doc: `not json`, noVer: true},
	} {
		err := CheckVersion([]byte(tc.doc))
		var ne *NewerError
		switch {
		case tc.accepts && err != nil:
			t.Errorf("%s: %v, want accepted", tc.doc, err)
		case tc.noVer && !IsNoVersion(err):
			t.Errorf("%s: %v, want no version", tc.doc, err)
		case tc.newer && !errors.As(err, &ne):
			t.Errorf("%s: %v, want newer", tc.doc, err)
		}
	}
}
