package crossbar

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"testing"
)

func tinyPNG(t testing.TB) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// FuzzDecodeUpload feeds upload bodies (raw, base64 data URLs, multipart)
// through the decoder and the image check: no panic, nothing above the
// limit, and only PNG or JPEG accepted.
func FuzzDecodeUpload(f *testing.F) {
	f.Add("image/png", "", tinyPNG(f))
	f.Add("application/x-base64", "", []byte("data:image/png;base64,iVBORw0KGgo="))
	f.Add("multipart/form-data", "XX", []byte("--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n\x89PNG\r\n--XX--\r\n"))
	f.Add("image/svg+xml", "", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`))
	f.Fuzz(func(t *testing.T, mt, boundary string, body []byte) {
		data, _, err := decodeUpload(mt, map[string]string{"boundary": boundary}, body, 4096)
		if err != nil {
			return
		}
		if len(data) > 4096 || len(data) == 0 {
			t.Fatalf("decodeUpload returned %d bytes", len(data))
		}
		if ct, err := checkImage(data); err == nil && ct != "image/png" && ct != "image/jpeg" {
			t.Fatalf("checkImage accepted %q", ct)
		}
	})
}

// FuzzValidateWhitelabel: any accepted document has http(s) links only
// and no NUL, whatever the input.
func FuzzValidateWhitelabel(f *testing.F) {
	f.Add(`{"company_name":"x","domain":"a.example.com","nav":{"help":"https://h/"}}`)
	f.Add(`{"nav":{"help":"javascript:alert(1)"}}`)
	f.Add(`{"domain":"A..b"}`)
	f.Fuzz(func(t *testing.T, raw string) {
		var doc map[string]any
		if json.Unmarshal([]byte(raw), &doc) != nil || doc == nil {
			return
		}
		clean, domain, err := validateWhitelabel(doc)
		if err != nil {
			return
		}
		b, _ := json.Marshal(clean)
		if bytes.Contains(b, []byte(`\u0000`)) {
			t.Fatalf("accepted a NUL: %s", b)
		}
		if nav, ok := clean["nav"].(map[string]any); ok {
			if s, ok := nav["help"].(string); ok && !(len(s) > 7 && (s[:7] == "http://" || s[:8] == "https://")) {
				t.Fatalf("accepted link %q", s)
			}
		}
		if d, _ := clean["domain"].(string); d != domain {
			t.Fatalf("domain %q stored as %q", domain, d)
		}
	})
}

// FuzzParseApp: an accepted catalogue document has a valid name and file
// names that cannot leave the app's directory.
func FuzzParseApp(f *testing.F) {
	f.Add(`{"name":"voip","icon":"voip.png","screenshots":["a.png"]}`)
	f.Add(`{"name":"x","icon":"../../etc/passwd"}`)
	f.Fuzz(func(t *testing.T, raw string) {
		app, files, err := ParseApp([]byte(raw), "")
		if err != nil {
			return
		}
		if !appNamePattern.MatchString(app.Name) {
			t.Fatalf("accepted name %q", app.Name)
		}
		for _, name := range files {
			if !safeFileName(name) || bytes.ContainsAny([]byte(name), "/\\") {
				t.Fatalf("accepted file name %q", name)
			}
		}
	})
}
