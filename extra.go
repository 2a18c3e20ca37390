package audian

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// Documents (accounts, users) keep fields their schema does not define,
// and the server returns them as stored (Monster UI keeps its settings
// there). The types below carry such fields in Extra, so that reading a
// document, changing a field and writing it back loses nothing.

// jsonNames caches the JSON names of a struct type's fields.
var jsonNames sync.Map // reflect.Type -> map[string]bool

func namesOf(t reflect.Type) map[string]bool {
	if m, ok := jsonNames.Load(t); ok {
		return m.(map[string]bool)
	}
	m := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = true
	}
	jsonNames.Store(t, m)
	return m
}

// decodeExtra decodes raw into known (a pointer to a struct without
// methods) and returns the fields known does not name.
func decodeExtra(raw []byte, known any) (map[string]any, error) {
	if err := json.Unmarshal(raw, known); err != nil {
		return nil, err
	}
	var all map[string]any
	if err := json.Unmarshal(raw, &all); err != nil {
		return nil, err
	}
	names := namesOf(reflect.TypeOf(known).Elem())
	for k := range all {
		if names[k] {
			delete(all, k)
		}
	}
	if len(all) == 0 {
		return nil, nil
	}
	return all, nil
}

// encodeExtra encodes known (a struct without methods) with the fields
// of extra it does not name.
func encodeExtra(known any, extra map[string]any) ([]byte, error) {
	raw, err := json.Marshal(known)
	if err != nil || len(extra) == 0 {
		return raw, err
	}
	var all map[string]any
	if err := json.Unmarshal(raw, &all); err != nil {
		return nil, err
	}
	names := namesOf(reflect.TypeOf(known))
	for k, v := range extra {
		if !names[k] {
			all[k] = v
		}
	}
	return json.Marshal(all)
}
