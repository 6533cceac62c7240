package mqtt

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// serverTLS is the embedded broker's TLS configuration from cfg's files,
// or nil when TLSCert is empty. With ClientCA set, every device must show a
// certificate that CA signed, besides its token.
func serverTLS(cfg Config) (*tls.Config, error) {
	if cfg.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("mqtt.tls_cert %s, mqtt.tls_key %s: %v; want a PEM certificate and its PEM private key", cfg.TLSCert, cfg.TLSKey, err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if cfg.ClientCA != "" {
		b, err := os.ReadFile(cfg.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("mqtt.client_ca: %v; want the PEM certificates of the CAs that sign device certificates", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("mqtt.client_ca %s holds no PEM certificate; want the PEM certificates of the CAs that sign device certificates", cfg.ClientCA)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}
