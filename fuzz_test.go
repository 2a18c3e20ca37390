package audian

import (
	"encoding/json"
	"testing"
)

// FuzzReply feeds arbitrary server replies and tokens to the parsers of
// the client: a hostile or broken server must not crash it.
func FuzzReply(f *testing.F) {
	f.Add([]byte(`{"status":"error","error":"400","message":"validation error","data":{"name":{"required":{"message":"x"}}}}`), "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjE5MDAwMDAwMDAsImFjY291bnRfaWQiOiJhIn0.c2ln")
	f.Add([]byte(`{"data":{"id":"x","name":"n","ui":{"a":[1,2]},"enabled":true}}`), "a.b.c")
	f.Add([]byte(`{"data":[{"id":"x"}],"next_start_key":"k"}`), "..")
	f.Fuzz(func(t *testing.T, body []byte, token string) {
		var c Client
		c.setToken(token)
		var data map[string]any
		env := Envelope{Data: &data}
		if json.Unmarshal(body, &env) == nil {
			e := &Error{StatusCode: 400, Message: env.Message, Data: data}
			_ = e.Error()
		}
		var a Account
		if json.Unmarshal(body, &a) == nil {
			if _, err := json.Marshal(a); err != nil {
				t.Errorf("an account read back does not encode: %v", err)
			}
		}
		var u User
		if json.Unmarshal(body, &u) == nil {
			if _, err := json.Marshal(u); err != nil {
				t.Errorf("a user read back does not encode: %v", err)
			}
		}
	})
}
