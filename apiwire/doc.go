// Package apiwire holds the JSON types of the HTTP API of an iotledger
// node: what the node answers (internal/api maps the ledger's records to
// them) and what package client decodes. They are the API's wire format,
// apart from the store's records (package state), so that either can
// change without the other.
//
// One encoding per kind of value (encoding.go): hashes are Hex, lowercase
// hex; keys are []byte, standard base64; balances, amounts, escrow and
// nonces are Uint64 and Int64, decimal strings, which JavaScript reads
// without rounding. Heights, indexes and counts are numbers.
//
// Every list answer carries NextPageToken, the page_token of the next
// page, absent on the last; the older Next (and More) fields remain,
// deprecated.
package apiwire
