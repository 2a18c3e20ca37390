// Command barebench holds the baselines of scripts/bench.sh.
//
// Serving (the default), it is a bare net/http handler that answers every
// request with fixed bytes over TLS, so that audian's routes can be
// measured as a ratio to it on the same machine, certificate and load
// generator.
//
// With -sign, it is the signing ceiling of api_auth: it signs RS256 JWTs
// of the size audian issues with a 2048-bit key on every CPU for a while
// and prints signatures per second. No server that signs a token per
// request can answer faster than that.
package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18444", "address")
	cert := flag.String("cert", "", "TLS certificate (PEM)")
	key := flag.String("key", "", "TLS key (PEM)")
	bodyFile := flag.String("body", "", "file whose bytes every reply carries")
	sign := flag.Duration("sign", 0, "measure RS256 signing for this long instead of serving")
	flag.Parse()
	if *sign > 0 {
		signLoop(*sign)
		return
	}
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

// signLoop signs JWT-sized inputs on GOMAXPROCS goroutines for d and
// prints the signatures per second.
func signLoop(d time.Duration) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"RS256","kid":"0123456789abcdef0123456789abcdef","typ":"JWT"}`))
	claims := enc.EncodeToString([]byte(`{"account_id":"` + strings.Repeat("a", 32) + `","owner_id":"` + strings.Repeat("b", 32) +
		`","method":"cb_api_auth","jti":"` + strings.Repeat("c", 32) + `","iat":1764470000,"exp":1764473600,"iss":"audian"}`))
	var n atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for time.Now().Before(stop) {
				sum := sha256.Sum256([]byte(header + "." + claims))
				if _, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, sum[:]); err != nil {
					log.Fatal(err)
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	fmt.Printf("%.0f\n", float64(n.Load())/d.Seconds())
}
