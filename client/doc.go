// Package client is a Go client of the HTTP API of an iotledger node: submit
// signed readings and transactions, read devices, readings, gaps, blocks,
// accounts and contracts with their events, fetch receipts and follow live
// events.
//
// # Use
//
// Build a Client with New and the node's base URL, then call its methods;
// each takes a context that bounds it:
//
//	c := client.New("http://localhost:8080")
//	st, err := c.Status(ctx)
//
// Readings are COSE_Sign1 messages a device signed (see package reading and
// the device SDK). Submit sends a batch as JSON, SubmitCOSE one reading as
// application/cose. Each reading gets a Result: Accepted, Duplicate (resent;
// the result points at the original), Rejected (Reason and Detail say why;
// for ReasonSeqReused, other data under a sequence number already
// committed, the result points at the original too) or Pending (not
// committed within the node's wait, or not waited for).
//
// Receipt returns a *receipt.Receipt, parsed but not verified: check it
// offline with receipt.Verify and the chain's genesis, the only thing the
// verifier trusts. The node that served it needs no trust.
//
// # Private readings
//
// A device's private fields travel sealed (docs/PRIVATE.md). The client
// signs and sends the transactions of private readings with an account's
// key, at its next nonce (Send, a refusal being a *TxError):
// PublishEncryptionKey, SetPrivateFields, AnnounceStreamKey (the device's
// key), GrantAccess, RevokeAccess, RotateStreamKey, EraseEpochs; Grant is
// an owner's whole grant, past epochs' keys opened with the owner's key
// and wrapped to the grantee here. Access and AccessPage read a device's
// grants and epochs, EncryptionKey an account's published key,
// PutStreamKeys and WrappedStreamKey the node's key box.
//
// DecryptReading opens a reading's sealed fields locally: it fetches the
// reading as the device signed it (from its receipt), the wrapped stream
// key of its epoch for the caller's account, opens that with the caller's
// encryption private key (StreamKey) and the fields with the stream key.
// The node never sees a private key or a stream key. Errors say why a
// reading does not open: ErrErased, ErrNotRecipient, ErrNotSealed, or
// package private's ErrUnwrap, ErrKEM and ErrOpen (a wrong key, a wrapped
// key replayed from another epoch, a tampered ciphertext or nonce).
//
// # Errors
//
// An answer other than 2xx is an *Error, read from the node's problem
// details (RFC 9457): Status, Title, and a Detail that says what was wrong
// and what to do. Match the cases a program handles with errors.Is:
//
//   - ErrNotFound (404): no such device, reading, block or contract.
//   - ErrNotYet (425 Too Early): the reading is committed but its receipt
//     needs the next block; ask again after the Error's RetryAfter.
//   - ErrBusy (503): the node is saturated and took none of the readings;
//     send them again after RetryAfter, or to another node.
//   - ErrHalted (503 too, so also ErrBusy): the node's consensus has
//     halted (Status.Halted says since when and why) and it took none of
//     the readings; send them again after RetryAfter, or to another node.
//
// # Types
//
// The types of this package are package apiwire's, the API's JSON (the
// node serves its OpenAPI document at /v1/openapi.json). Hashes are
// apiwire.Hex (lowercase hex in the JSON), keys []byte (base64);
// balances, amounts and nonces are apiwire.Uint64 and apiwire.Int64
// (decimal strings in the JSON, exact); numbers in a reading's Data are
// json.Number, so 64-bit integers keep every digit.
//
// # Pages
//
// Every list pages the same way: a page's NextPageToken fetches the next
// (DevicesPage, SearchDevices, AccountPage, TwinHistoryPage,
// ContractsPage, ContractEventsPage, ValidatorProposalsPage, BlocksPage,
// LatestReadingsPage, BlockReadingsPage, DeviceChangesPage,
// ReadingQuery.PageToken), and the All... methods (AllDevices,
// AllMatchingDevices, AllReadings, AllPayments, AllTwinChanges,
// AllContracts, AllContractEvents, AllValidatorProposals, AllBlocks,
// AllBlockReadings, AllDeviceChanges) iterate over every item, fetching
// pages as they go:
//
//	for d, err := range c.AllDevices(ctx, 0) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(d.ID)
//	}
package client
