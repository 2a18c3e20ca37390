package crossbar

import (
	"encoding/json"
	"testing"
)

// TestAppendEnvelopeMatchesEncodingJSON: the hand-written encoder must
// produce what encoding/json produces for the same envelope.
func TestAppendEnvelopeMatchesEncodingJSON(t *testing.T) {
	size := 3
	for _, env := range []envelope{
		{Status: "success", Node: "n", RequestID: "r", Timestamp: "t"},
		{Status: "success", Data: map[string]any{"a": []any{1, "<x>"}}, AuthToken: "eyJ.a.b", Revision: "1-ab",
			Node: "n", RequestID: "r", Timestamp: "t", Version: "v", Metadata: &struct{}{},
			Tokens: &tokensInfo{Consumed: 1, Remaining: 99}, PageSize: &size, StartKey: "s", NextStartKey: "k"},
		{Status: "error", Error: "401", Message: "unauthorized", Data: map[string]string{"message": "quote \" and \\ and \u2028 and é"},
			Node: "n\x01", RequestID: "r", Timestamp: "t"},
		{Status: "success", Data: []any{}, Node: "", RequestID: "", Timestamp: ""},
	} {
		want, err := json.Marshal(&env)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendEnvelope(nil, &env)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("appendEnvelope:\n got %s\nwant %s", got, want)
		}
	}
	raw := envelope{Status: "success", Data: rawJSON(`{"id":"x"}`), Node: "n", RequestID: "r", Timestamp: "t"}
	got, _ := appendEnvelope(nil, &raw)
	if string(got) != `{"data":{"id":"x"},"node":"n","request_id":"r","status":"success","timestamp":"t"}` {
		t.Errorf("raw data: %s", got)
	}
}
