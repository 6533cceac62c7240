// Package testonly holds fixtures shared by tests: a built iotledger binary,
// free loopback ports, and a running node process that tests start, kill
// and restart. Nothing here is used outside tests.
package testonly
