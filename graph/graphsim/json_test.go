package graphsim

import (
	"testing"
	"time"
)

// The simulator's objects keep their keys' order and encode every value
// as encoding/json does, nested or not.
func TestAppendJSON(t *testing.T) {
	at := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    any
		want string
	}{
		{jobj{{"b", 1}, {"a", "x<y&\"z\"\n"}}, `{"b":1,"a":"x\u003cy\u0026\"z\"\n"}`},
		{jobj(nil), `{}`},
		{[]jobj(nil), `null`},
		{[]jobj{}, `[]`},
		{[]any{1.5, nil, true, "é"}, `[1.5,null,true,"é"]`},
		{jobj{{"value", []jobj{{{"id", "A/b+c="}, {"at", at}}}}, {"m", map[string]int{"k": 2}}, {"n", []string(nil)}},
			`{"value":[{"id":"A/b+c=","at":"2024-05-01T10:00:00Z"}],"m":{"k":2},"n":null}`},
		{map[string]any{"o": jobj{{"z", 0}}}, `{"o":{"z":0}}`},
	} {
		got, err := appendJSON(nil, tc.v)
		if err != nil || string(got) != tc.want {
			t.Errorf("appendJSON(%#v) = %s, %v; want %s", tc.v, got, err, tc.want)
		}
	}
	if _, err := appendJSON(nil, jobj{{"bad", func() {}}}); err == nil {
		t.Error("a value encoding/json refuses was encoded")
	}
}
