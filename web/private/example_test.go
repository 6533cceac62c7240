package private_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/iotledger/iotledger/web/private"
)

// A server sends the bundle to browsers as a JavaScript module; a page
// then imports it: import { decryptReading } from "/private.js".
func Example() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /private.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Write(private.Bundle)
	})
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/private.js", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"), bytes.Contains(rec.Body.Bytes(), []byte(" as decryptReading")))
	// Output: 200 text/javascript; charset=utf-8 true
}
