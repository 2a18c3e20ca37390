package crossbar

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/audian/audian/openapi"
)

// openAPIDoc is the parts of the document the tests walk.
type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

type openAPIOperation struct {
	Responses map[string]struct {
		Goldens []string `json:"x-goldens"`
	} `json:"responses"`
}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal(openapi.JSON, &doc); err != nil {
		t.Fatalf("openapi/openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	return doc
}

// TestOpenAPIRoutes: the document describes exactly the routes the API
// serves, so that the two cannot drift apart.
func TestOpenAPIRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	documented := map[string]bool{}
	for path, methods := range doc.Paths {
		for m := range methods {
			if m == "parameters" || m == "summary" || m == "description" {
				continue
			}
			documented[strings.ToUpper(m)+" "+path] = true
		}
	}
	served := map[string]bool{}
	for _, r := range New(Config{}, Deps{}).Routes() {
		served[r.Method+" "+r.Path] = true
	}
	for _, k := range sortedSet(served) {
		if !documented[k] {
			t.Errorf("%s is served but not in openapi/openapi.json: add its operation there", k)
		}
	}
	for _, k := range sortedSet(documented) {
		if !served[k] {
			t.Errorf("%s is in openapi/openapi.json but not served: remove it, or fix its path", k)
		}
	}
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// goldenPlaceholders turns the goldens' normalized values back into
// values of the wire's types (see cmd/audian/golden_test.go).
var goldenPlaceholders = map[string]any{
	"<created>": json.Number("63900000000"), "<exp>": json.Number("1900000000"), "<iat>": json.Number("1899996400"),
	"<n>": json.Number("99"), "<timestamp>": "2026-11-30T03:00:00Z",
	"<id>": "0123456789abcdef0123456789abcdef",
}

func denormalizeGolden(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			x[k] = denormalizeGolden(val)
		}
	case []any:
		for i, val := range x {
			x[i] = denormalizeGolden(val)
		}
	case string:
		if p, ok := goldenPlaceholders[x]; ok {
			return p
		}
	}
	return v
}

// TestOpenAPIGoldens: every real reply pinned in testdata/wire validates
// against the schema of the operation that names it, so the document
// says what the server sends.
func TestOpenAPIGoldens(t *testing.T) {
	doc := loadOpenAPI(t)
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(openapi.JSON))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource("https://audian.invalid/openapi.json", raw); err != nil {
		t.Fatal(err)
	}
	claimed := map[string]string{} // golden -> schema location
	for path, methods := range doc.Paths {
		for m, rawOp := range methods {
			var o openAPIOperation
			if err := json.Unmarshal(rawOp, &o); err != nil {
				t.Fatalf("%s %s: %v", m, path, err)
			}
			for status, r := range o.Responses {
				for _, g := range r.Goldens {
					if prev, dup := claimed[g]; dup {
						t.Errorf("golden %s is claimed twice (%s)", g, prev)
					}
					ptr := "/paths/" + escapePointer(path) + "/" + m + "/responses/" + status + "/content/application~1json/schema"
					claimed[g] = ptr
				}
			}
		}
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "wire", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no goldens: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			ptr, ok := claimed[name]
			if !ok {
				t.Fatalf("no operation of openapi/openapi.json names golden %s: add %q to the x-goldens of the response it is a reply of", name, name)
			}
			delete(claimed, name)
			sch, err := c.Compile("https://audian.invalid/openapi.json#" + ptr)
			if err != nil {
				t.Fatalf("compiling %s: %v", ptr, err)
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var golden struct {
				Status int `json:"status"`
				Body   any `json:"body"`
			}
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			if err := dec.Decode(&golden); err != nil {
				t.Fatal(err)
			}
			if st := ptr[strings.Index(ptr, "/responses/")+len("/responses/"):]; !strings.HasPrefix(st, "default/") && !strings.HasPrefix(st, itoa(golden.Status)+"/") {
				t.Errorf("golden status %d is documented under %s", golden.Status, st)
			}
			if err := sch.Validate(denormalizeGolden(golden.Body)); err != nil {
				t.Errorf("the reply does not validate against %s:\n%v", ptr, err)
			}
		})
	}
	for g := range claimed {
		t.Errorf("openapi/openapi.json names golden %s, which testdata/wire does not have", g)
	}
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestOpenAPIDocumentValid checks the document against the OpenAPI 3.1
// schema published by the OpenAPI Initiative (testdata/oas-3.1-schema.json,
// Apache-2.0, from spec.openapis.org), so that generators accept it.
func TestOpenAPIDocumentValid(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "oas-3.1-schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	schemaDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("https://spec.openapis.org/oas/3.1/schema/2021-04-15", schemaDoc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("https://spec.openapis.org/oas/3.1/schema/2021-04-15")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(openapi.JSON))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Errorf("openapi/openapi.json is not a valid OpenAPI 3.1 document:\n%v", err)
	}
}
