package mqttwire

// TopicPrefix starts every topic of a device: TopicPrefix + id + "/...".
const TopicPrefix = "iotledger/v1/devices/"

// ReadingsTopic is where device id publishes its readings.
func ReadingsTopic(id string) string { return TopicPrefix + id + "/readings" }

// ReceiptsTopic is where the node tells device id that a reading was committed.
func ReceiptsTopic(id string) string { return TopicPrefix + id + "/receipts" }

// ErrorsTopic is where the node tells device id that a reading was refused.
func ErrorsTopic(id string) string { return TopicPrefix + id + "/errors" }

// TwinDesiredTopic is where the node publishes device id's desired state
// (TwinDesiredMessage) each time it changes, retained: a device that
// subscribes gets the latest at once.
func TwinDesiredTopic(id string) string { return TopicPrefix + id + "/twin/desired" }
