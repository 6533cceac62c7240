// Package api is the HTTP JSON API of an iotledger node: readings in,
// ledger state, receipts and live events out.
//
// # Routes
//
//	POST /v1/readings                              submit readings (application/cose or application/json)
//	GET  /v1/readings?limit=&page_token=           the newest readings of every device, newest first (apiwire.LogReadingPage)
//	POST /v1/txs                                   a signed transaction (package tx), answered with its block (TxCommit)
//	GET  /v1/status                                the node's view of the chain (Status)
//	GET  /v1/stats                                 height, log size, devices by status, contracts (apiwire.Stats)
//	GET  /v1/devices?status=&label=&q=&limit=&page_token=   devices in id order, filtered (apiwire.DevicePage)
//	GET  /v1/devices/{id}                          one device (apiwire.Device)
//	GET  /v1/devices/{id}/readings?from=&to=&by=seq|time&limit=&page_token=   (apiwire.ReadingPage)
//	GET  /v1/devices/{id}/gaps                     sequence numbers held and missing (Gaps)
//	GET  /v1/devices/{id}/changes?limit=&page_token=   its status and key changes, newest first (apiwire.DeviceChanges)
//	GET  /v1/devices/{id}/access?limit=&page_token=    its private fields, grants and epochs (apiwire.DeviceAccess; PrivateReader)
//	GET  /v1/devices/{id}/twin?height=             a device's twin (Twin)
//	GET  /v1/devices/{id}/twin/history?side=&limit=&page_token=   (apiwire.TwinHistory)
//	GET  /v1/devices/{id}/readings/{seq}/receipt   a receipt (receipt.Receipt JSON)
//	POST /v1/devices/{id}/stream-keys              wrapped stream keys in, a result each (apiwire.StreamKeyResults; streamkeys.go)
//	GET  /v1/devices/{id}/stream-keys/{epoch}?recipient=   one wrapped stream key (apiwire.StreamKey)
//	GET  /v1/blocks?from_height=&limit=&page_token=   block records, newest first (apiwire.BlockPage)
//	GET  /v1/blocks/{height}                       a committed block and its transactions (apiwire.Block)
//	GET  /v1/blocks/{height}/readings?limit=&page_token=   the block's readings in log order (apiwire.LogReadingPage)
//	GET  /v1/accounts/{addr}?limit=&page_token=    an account's balance, nonce and payments (apiwire.Account)
//	GET  /v1/contracts?limit=&page_token=          contracts in deployment order (apiwire.ContractPage)
//	GET  /v1/contracts/{id}                        one contract, its escrow and document (apiwire.Contract)
//	GET  /v1/contracts/{id}/events?limit=&page_token=   a contract's events, oldest first (apiwire.ContractEvents)
//	GET  /v1/validators                            the validator set and its changes (ValidatorSet)
//	GET  /v1/validators/proposals?limit=&page_token=   proposed changes of the set (apiwire.ValidatorProposalPage)
//	GET  /v1/validators/proposals/{id}             one proposal and its approvals (ValidatorProposal)
//	GET  /v1/log/entries/{index}                   a reading by its log index (LogEntry)
//	GET  /v1/log/consistency?from=&to=             RFC 6962 consistency proof between two log sizes (LogConsistency)
//	GET  /v1/events?types=&device=&last_event_id=  server-sent events (Event), resumable with Last-Event-ID
//	GET  /v1/openapi.json                          the OpenAPI 3.1 document (OpenAPI)
//	GET  /metrics                                  Prometheus metrics
//	GET  /healthz                                  200 while the process serves (Health)
//	GET  /readyz                                   200 when the node can take readings now (Readiness), else 503
//
// The answers are package apiwire's types; wire.go maps the ledger's
// records (package state) to them. Every list pages the same way
// (paging.go): limit, an opaque page_token in, next_page_token and a Link
// rel="next" header out, absent on the last page; the older after, before
// and start_seq still work, deprecated. Hashes are hex, balances and
// amounts decimal strings (package apiwire says why).
//
// The OpenAPI document is the reference for parameters and JSON shapes; a
// test keeps it and the routes in step.
//
// # Errors
//
// Every error answer is a [Problem] (RFC 9457, application/problem+json)
// whose detail says what was wrong and what to do. Its type is
// [ProblemType] followed by a kind (KindNotFound, ...). A handler answers
// a client's mistake with a problem; any other error is logged with its
// cause and answered 500 with a generic detail, so internal causes never
// reach a client. Statuses with a meaning of their own:
//
//   - 413: the body is larger than Options.MaxBodyBytes.
//   - 503 with Retry-After: the Ledger returned ErrBusy; no reading was taken.
//   - 503 kind halted, with Retry-After (HaltRetryAfter): the Ledger
//     returned an *ingest.HaltedError, its consensus has halted; the detail
//     gives since when and the reason, and no reading was taken. GET
//     /v1/status shows the same halt (Status.Halted).
//   - 503 kind not-ready from GET /readyz: the detail names each failing
//     check (ReadyLedger, optional: store, sync, consensus, mempool) and
//     what to do.
//   - 425 Too Early with Retry-After: the reading is committed but its
//     receipt needs the next block's header (ErrNotYet). 425 rather than
//     503, so that an early receipt is neither counted as a server fault nor
//     confused with a saturated node.
//
// # The node's duties
//
// The node implements [Ledger] (its status, blocks, receipts, submission
// and events, which need CometBFT; events through [EventSource]: live ones
// and a replay of committed blocks' events from its store) and hands New a
// [Reader] of committed state for the read routes and the log routes
// ([LogReader]), package query's (which is also a
// [ValidatorReader], without which the validator routes answer 404); it
// serves Handler, preferably through [Server.HTTPServer], whose timeouts
// bound slow clients; with Options.RatePerIP set, Handler answers a client over its
// rate 429 (kind rate-limited, with Retry-After) before any route runs,
// counted as route "rate_limited". When it stops, it calls Shutdown on that server with a deadline,
// then Close: event streams never become idle. It may close the channels
// Subscribe returned, which ends the streams. Submit returns the readings'
// verdicts; the API answers each as its verdict.Result, whose receipt is
// at verdict.ReceiptPath. The API counts its answers in
// iotledger_http_requests_total{route,code} (route is the pattern, such as
// "GET /v1/devices/{id}", or "unmatched") and times them in
// iotledger_http_request_duration_seconds{route} (all but the event
// stream) on Options.Registry, where the node registers its own metrics
// too; /metrics serves Options.Gatherer, which adds CometBFT's. The Server
// starts no goroutine of its own.
//
// # Live events
//
// GET /v1/events relays the Ledger's events as server-sent events,
// "id: <height>-<n>\nevent: <type>\ndata: <json>\n\n", flushed at once,
// with a comment line as heartbeat every Options.Heartbeat (15 s). An
// [EventID] is an event's place in the chain (the n-th event of block
// height, in the order of [EventTypes]), the same on every node and across
// restarts. The stream subscribes first, then reads the last committed
// block from EventRange: every later event comes live, every earlier one
// from ReplayEvents. A stream resumed with Last-Event-ID (or
// last_event_id) replays what followed that id, at most
// Options.EventReplayBlocks blocks back (DefaultEventReplayBlocks), then
// goes on live; the cursor (the last id sent or filtered out) drops what
// the replay already sent, so nothing is lost or sent twice. An older id
// is answered 410 (KindEventIDExpired), an id of no block this chain can
// have 400 (KindInvalidEventID). The filters types and device apply to
// live and replayed events alike; a stream whose filter left events out
// sends an id-only message with its heartbeat so the client's last id
// keeps up. The Ledger's channel is bounded and it drops what a lagging
// subscriber cannot take, telling it on Subscription.Lost; the stream then
// refills the gap from the store (or ends, logged, when its client fell
// behind the replay bound). The API never blocks the Ledger. The stream
// lifts the server's read and write timeouts for its connection and
// bounds each write by EventWriteTimeout instead.
package api
