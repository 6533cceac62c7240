package mqtt

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// startBridge connects to the operator's broker (MQTT 5, with autopaho,
// which reconnects by itself) and subscribes to every device's readings
// topic each time the connection comes up.
func (b *Broker) startBridge() error {
	c := b.cfg.Bridge
	u, err := url.Parse(c.URL)
	if err != nil {
		return fmt.Errorf("mqtt.bridge.url: %w", err)
	}
	tlsCfg, err := c.tlsConfig()
	if err != nil {
		return err
	}
	clientID := c.ClientID
	if clientID == "" {
		clientID = defaultBridgeClientID()
	}
	cfg := autopaho.ClientConfig{
		ServerUrls: []*url.URL{u},
		TlsCfg:     tlsCfg,
		KeepAlive:  30,
		// A stable client id and a session that outlives a restart: the
		// operator's broker keeps readings for the node while it is away.
		CleanStartOnInitialConnection: false,
		SessionExpiryInterval:         uint32(c.SessionExpiry / time.Second),
		ReconnectBackoff:              autopaho.DefaultExponentialBackoff(),
		ConnectTimeout:                10 * time.Second,
		ConnectUsername:               c.User,
		ConnectPassword:               []byte(c.Password),
		OnConnectionUp:                b.bridgeUp,
		OnConnectError: func(err error) {
			b.log.Warn("mqtt bridge: connect", "url", u.Redacted(), "err", err)
		},
		ClientConfig: paho.ClientConfig{
			ClientID: clientID,
			// A reading is acknowledged once queued or answered, never
			// before: see bridgeReceive.
			EnableManualAcknowledgment: true,
			OnPublishReceived:          []func(paho.PublishReceived) (bool, error){b.bridgeReceive},
			OnClientError: func(err error) {
				b.log.Warn("mqtt bridge: connection lost", "url", u.Redacted(), "err", err)
			},
			OnServerDisconnect: func(d *paho.Disconnect) {
				b.log.Warn("mqtt bridge: disconnected by the broker", "url", u.Redacted(), "reason_code", d.ReasonCode)
			},
		},
	}
	// autopaho's goroutines run until b.ctx ends; Close waits for them.
	cm, err := autopaho.NewConnection(b.ctx, cfg)
	if err != nil {
		return fmt.Errorf("mqtt bridge: %w", err)
	}
	b.bridge = cm
	for range bridgePublishers {
		b.wg.Go(b.runBridge)
	}
	b.log.Info("mqtt bridge: connecting", "url", u.Redacted(), "client_id", clientID)
	return nil
}

// bridgeFilterFor is the bridge's subscription: shared when group is set.
func bridgeFilterFor(group string) string {
	if group == "" {
		return bridgeFilter
	}
	return "$share/" + group + "/" + bridgeFilter
}

// bridgeUp subscribes on each new connection. autopaho calls it on its own
// goroutine; the SUBACK is read on another, so waiting here is safe.
func (b *Broker) bridgeUp(cm *autopaho.ConnectionManager, _ *paho.Connack) {
	filter := bridgeFilterFor(b.cfg.Bridge.Group)
	ctx, cancel := context.WithTimeout(b.ctx, publishTimeout)
	defer cancel()
	if _, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}}); err != nil {
		b.log.Error("mqtt bridge: subscribe; no readings will arrive", "filter", filter, "err", err)
		return
	}
	b.log.Info("mqtt bridge: subscribed", "filter", filter)
	b.readyOnce.Do(func() { close(b.bridgeReady) })
}

// bridgeReceive handles a reading from the operator's broker. paho calls it
// on one goroutine, in order; while it waits for room in the node's queue,
// nothing more is read or acknowledged, so the operator's broker holds the
// readings (backpressure, no loss). Only a reading that was neither queued
// nor answered (shutdown) stays unacknowledged, for the broker to send again.
func (b *Broker) bridgeReceive(pr paho.PublishReceived) (bool, error) {
	v := b.receive(b.ctx, sinkBridge, pr.Packet.Topic, pr.Packet.Payload, 0)
	if !v.ack {
		return true, nil
	}
	if err := pr.Client.Ack(pr.Packet); err != nil {
		b.log.Debug("mqtt bridge: ack", "topic", pr.Packet.Topic, "err", err)
	}
	return true, nil
}

// WaitBridge waits until the bridge has subscribed to the operator's broker
// for the first time.
func (b *Broker) WaitBridge(ctx context.Context) error {
	if b.cfg.Bridge.URL == "" {
		return errors.New("mqtt: no bridge configured")
	}
	select {
	case <-b.bridgeReady:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-b.ctx.Done():
		return errors.New("mqtt: broker closed")
	}
}

// runBridge publishes receipts and errors to the operator's broker at QoS 1.
// Several run at once, as each waits for its PUBACK.
func (b *Broker) runBridge() {
	for {
		select {
		case <-b.ctx.Done():
			return
		case n := <-b.bridgeOut:
			ctx, cancel := context.WithTimeout(b.ctx, publishTimeout)
			err := b.bridge.AwaitConnection(ctx)
			if err == nil {
				_, err = b.bridge.Publish(ctx, &paho.Publish{Topic: n.topic, QoS: 1, Payload: n.payload})
			}
			cancel()
			if err != nil && b.ctx.Err() == nil {
				b.stats.dropped.Add(1)
				b.log.Warn("mqtt bridge: publish", "topic", n.topic, "err", err)
			}
		}
	}
}

// tlsConfig is the TLS client configuration of the bridge (autopaho uses
// it for tls:// URLs only).
func (c BridgeConfig) tlsConfig() (*tls.Config, error) {
	if c.CAFile == "" && c.CertFile == "" && !c.InsecureSkipVerify {
		return &tls.Config{MinVersion: tls.VersionTLS12}, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.bridge.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt.bridge.ca_file %s holds no PEM certificate", c.CAFile)
		}
		cfg.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.bridge.cert_file, key_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// defaultBridgeClientID is stable across restarts of a node on one host,
// so its session on the operator's broker survives them.
func defaultBridgeClientID() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "iotledger-bridge"
	}
	h = strings.Map(func(r rune) rune {
		if r == '/' || r == '+' || r == '#' || r > 0x7e || r < 0x21 {
			return '-'
		}
		return r
	}, h)
	return "iotledger-bridge-" + h
}
