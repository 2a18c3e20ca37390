package crossbar

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image"
	_ "image/jpeg" // the only image formats uploads may be: DecodeConfig knows these two
	_ "image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/audian/audian/internal/identity"
)

// fileReply is a reply that is a file (a logo, an icon, an app
// screenshot) rather than a Crossbar envelope.
type fileReply struct {
	contentType string // fixed by audian, never a client's claim
	name        string // for Content-Disposition
	data        []byte
}

// respondFile writes a file reply. Files come from clients, so they are
// served so that no browser runs them: a content type audian chose,
// nosniff, and a CSP that forbids any script, style or load should one be
// opened as a document.
func respondFile(c *call, f *fileReply) {
	h := c.w.Header()
	h["Content-Type"] = []string{f.contentType}
	h["Content-Length"] = []string{strconv.Itoa(len(f.data))}
	h["X-Content-Type-Options"] = []string{"nosniff"}
	h["Content-Security-Policy"] = []string{"default-src 'none'; sandbox"}
	h["Content-Disposition"] = []string{"attachment; filename=" + f.name}
	c.w.WriteHeader(http.StatusOK)
	if c.r.Method != http.MethodHead {
		_, _ = c.w.Write(f.data)
	}
}

// Upload limits.
const (
	// DefaultUploadMaxBytes is the default size limit of a whitelabel
	// logo, icon or welcome text.
	DefaultUploadMaxBytes = 1 << 20
	// maxImagePixels bounds an image's declared width × height, so that a
	// small file cannot make every browser that shows it allocate
	// gigabytes.
	maxImagePixels = 4096 * 4096
)

var (
	errUploadType = identity.Invalid("file", "format", "The file must be a PNG or JPEG image")
	errUploadNone = identity.Invalid("file", "required", "Please provide an image file")
	errTooLarge   = &identity.Error{Code: identity.ETooLarge, Message: "payload too large"}
)

// readUpload reads the single file of an upload request, as Kazoo
// accepts it: the raw bytes with their media type, a base64 data URL
// (application/x-base64, what Monster UI sends), or the first file of a
// multipart/form-data body. It returns at most max bytes of file.
func (a *API) readUpload(c *call, max int64) ([]byte, string, error) {
	mt, params, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil {
		return nil, "", &identity.Error{Code: identity.EUnsupportedMedia, Message: "unsupported media type"}
	}
	// A base64 body is 4/3 of its file plus a data URL prefix; a
	// multipart body carries part headers.
	limit := max*4/3 + 4096
	body, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, "", errTooLarge
		}
		return nil, "", &identity.Error{Code: identity.EInvalid, Message: "unreadable body", Err: err}
	}
	return decodeUpload(mt, params, body, max)
}

// decodeUpload returns the file of an upload body of media type mt.
func decodeUpload(mt string, params map[string]string, body []byte, max int64) ([]byte, string, error) {
	data := body
	var err error
	switch {
	case mt == "application/x-base64" || mt == "application/base64":
		s := strings.TrimSpace(string(body))
		if strings.HasPrefix(s, "data:") {
			i := strings.IndexByte(s, ',')
			if i < 0 || !strings.HasSuffix(s[:i], ";base64") {
				return nil, "", identity.Invalid("file", "format", "The body must be a base64 data URL")
			}
			mt, s = strings.TrimSuffix(s[len("data:"):i], ";base64"), s[i+1:]
		}
		data, err = base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, "", identity.Invalid("file", "format", "The body is not valid base64")
		}
	case mt == "multipart/form-data":
		data, mt, err = firstPart(body, params["boundary"], max)
		if err != nil {
			return nil, "", err
		}
	}
	if len(data) == 0 {
		return nil, "", errUploadNone
	}
	if int64(len(data)) > max {
		return nil, "", errTooLarge
	}
	return data, mt, nil
}

// firstPart returns the first file of a multipart/form-data body.
func firstPart(body []byte, boundary string, max int64) ([]byte, string, error) {
	if boundary == "" {
		return nil, "", identity.Invalid("file", "format", "The multipart body has no boundary")
	}
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			return nil, "", errUploadNone
		}
		if err != nil {
			return nil, "", identity.Invalid("file", "format", "The multipart body is malformed")
		}
		if p.FileName() == "" && p.FormName() != "file" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(p, max+1))
		if err != nil {
			return nil, "", identity.Invalid("file", "format", "The multipart body is malformed")
		}
		return data, p.Header.Get("Content-Type"), nil
	}
}

// checkImage decides what an uploaded image is from its bytes, never from
// the client's claim: a PNG or a JPEG whose header decodes and whose size
// is bounded. SVG (a document that can carry script) and every other
// format are refused. It returns the content type to serve it with.
func checkImage(data []byte) (string, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return "", errUploadType
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return "", identity.Invalid("file", "format", "The image must be at most 4096×4096 pixels")
	}
	switch format {
	case "png":
		return "image/png", nil
	case "jpeg":
		return "image/jpeg", nil
	}
	return "", errUploadType
}

// checkText accepts a welcome text: UTF-8 without NUL or other control
// characters than tab and line breaks.
func checkText(data []byte) error {
	if !utf8.Valid(data) {
		return identity.Invalid("file", "format", "The text must be UTF-8")
	}
	for _, r := range string(data) {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f {
			return identity.Invalid("file", "format", "The text must not contain control characters")
		}
	}
	return nil
}
