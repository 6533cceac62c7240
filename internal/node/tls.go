package node

import (
	"crypto/tls"
	"fmt"
)

// loadAPITLS is the API's TLS configuration from api.tls_cert and
// api.tls_key (relative to home), or nil when they are not set.
func loadAPITLS(home string, c APIConfig) (*tls.Config, error) {
	if c.TLSCert == "" {
		return nil, nil
	}
	certFile, keyFile := homePath(home, c.TLSCert), homePath(home, c.TLSKey)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("config: api.tls_cert %s, api.tls_key %s: %v; want a PEM certificate and its PEM private key", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
