package crossbar

import (
	"net/http"
	"strconv"

	"github.com/audian/audian/openapi"
)

// openAPIETag is the ETag of the document, fixed for the binary.
var openAPIETag = etag(listRevision(string(openapi.JSON)))

// openAPI serves the OpenAPI document of the API (GET /v2/openapi.json),
// unwrapped: client generators read it from this URL.
func (a *API) openAPI(c *call) (*reply, error) {
	return &reply{raw: openapi.JSON, etag: openAPIETag}, nil
}

// writeRaw writes a reply's document as is.
func writeRaw(w http.ResponseWriter, rep *reply) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(rep.raw))}
	if rep.etag != "" {
		h["Etag"] = []string{rep.etag}
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(rep.raw)
}
