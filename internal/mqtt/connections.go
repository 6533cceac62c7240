package mqtt

import "sync/atomic"

// Connections is the number of clients connected to the embedded broker
// now (past CONNECT and its token check; the bridge is not one): 0 when
// the broker is off. The node serves it as iotledger_mqtt_connections.
func (b *Broker) Connections() int64 {
	if b.server == nil {
		return 0
	}
	return atomic.LoadInt64(&b.server.Info.ClientsConnected)
}
