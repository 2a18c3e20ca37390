// Command barebench is the baseline of scripts/bench.sh: a bare net/http
// handler that answers every request with fixed bytes over TLS, so that
// audian's hot path can be measured as a ratio to it on the same machine,
// certificate and load generator.
package main

import (
	"flag"
	"log"
	"net/http"
	"os"
	"strconv"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18444", "address")
	cert := flag.String("cert", "", "TLS certificate (PEM)")
	key := flag.String("key", "", "TLS key (PEM)")
	bodyFile := flag.String("body", "", "file whose bytes every reply carries")
	flag.Parse()
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		log.Fatal(err)
	}
	length := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"application/json"}
		w.Header()["Content-Length"] = []string{length}
		_, _ = w.Write(body)
	})
	log.Fatal(http.ListenAndServeTLS(*listen, *cert, *key, h))
}
