// Package openapi holds the OpenAPI 3.1 document of audian's /v2 API,
// served at GET /v2/openapi.json. The document is written by hand;
// internal/crossbar's tests keep it true: every route of the API is in it
// and nothing else, and every golden reply in testdata/wire validates
// against the schema of the operation that names it in x-goldens.
package openapi

import _ "embed"

// JSON is the document.
//
//go:embed openapi.json
var JSON []byte
