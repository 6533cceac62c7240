package client

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/iotledger/iotledger/address"
	"github.com/iotledger/iotledger/apiwire"
	"github.com/iotledger/iotledger/private"
	"github.com/iotledger/iotledger/reading"
	"github.com/iotledger/iotledger/tx"
)

// Private readings (docs/PRIVATE.md): the seven transactions, a device's
// access history, accounts' encryption keys, the key box of wrapped stream
// keys, and sealed fields opened locally with the caller's private key.

// The answers of private readings (package apiwire's types).
type (
	EncryptionKey = apiwire.EncryptionKey // an account's published encryption key
	DeviceAccess  = apiwire.DeviceAccess  // a page of GET /v1/devices/{id}/access
	Grant         = apiwire.Grant         // one consumer's access to a device
	GrantPeriod   = apiwire.GrantPeriod   // one grant, and its revocation
	Epoch         = apiwire.Epoch         // one epoch of a device, with its recipients
	Recipient     = apiwire.Recipient     // an account that gets an epoch's stream key
)

// Errors of private readings that callers branch on with errors.Is.
var (
	// ErrNoEncryptionKey: the account has published no encryption key.
	ErrNoEncryptionKey = errors.New("client: no encryption key published")
	// ErrNotSealed: the reading has no sealed fields.
	ErrNotSealed = errors.New("client: the reading has no sealed fields")
	// ErrErased: the reading's epoch was erased: no one can open it.
	ErrErased = errors.New("client: the epoch was erased")
	// ErrNotRecipient: the account is not a recipient of the epoch.
	ErrNotRecipient = errors.New("client: not a recipient of the epoch")
)

// PublishEncryptionKey publishes the encryption key pub for the account
// of key (set_encryption_key): stream keys are wrapped to it from then on.
func (c *Client) PublishEncryptionKey(ctx context.Context, key ed25519.PrivateKey, pub private.PublicKey) (*TxCommit, error) {
	if err := pub.Check(); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return c.Send(ctx, key, tx.TypeSetEncryptionKey, &tx.SetEncryptionKey{X25519: pub.X25519, XWing: pub.XWing})
}

// SetPrivateFields names the private fields of device, signed by its
// owner's key (set_private_fields); the first time, the device's epoch
// becomes 1.
func (c *Client) SetPrivateFields(ctx context.Context, owner ed25519.PrivateKey, device string, fields []string) (*TxCommit, error) {
	return c.Send(ctx, owner, tx.TypeSetPrivateFields, &tx.SetPrivateFields{Device: device, Fields: fields})
}

// AnnounceStreamKey announces the stream key of a device's current epoch
// (stream_key), signed by the device's own key: the commitments of its
// wraps, one per recipient of the epoch. Upload the wrapped keys
// (PutStreamKeys) before or after.
func (c *Client) AnnounceStreamKey(ctx context.Context, deviceKey ed25519.PrivateKey, f *tx.StreamKey) (*TxCommit, error) {
	return c.Send(ctx, deviceKey, tx.TypeStreamKey, f)
}

// GrantAccess grants f.To access to f.Device from f.FromEpoch on
// (grant_access), signed by the owner's key; f.Wraps are the owner's
// wraps of the announced epochs f.To does not hold (see GrantWraps).
func (c *Client) GrantAccess(ctx context.Context, owner ed25519.PrivateKey, f *tx.GrantAccess) (*TxCommit, error) {
	return c.Send(ctx, owner, tx.TypeGrantAccess, f)
}

// RevokeAccess ends from's access to device (revoke_access), signed by
// the owner's key; the device moves to its next epoch.
func (c *Client) RevokeAccess(ctx context.Context, owner ed25519.PrivateKey, device, from string) (*TxCommit, error) {
	return c.Send(ctx, owner, tx.TypeRevokeAccess, &tx.RevokeAccess{Device: device, From: from})
}

// RotateStreamKey moves device to its next epoch (rotate_stream_key),
// signed by the owner's key.
func (c *Client) RotateStreamKey(ctx context.Context, owner ed25519.PrivateKey, device string) (*TxCommit, error) {
	return c.Send(ctx, owner, tx.TypeRotateStreamKey, &tx.RotateStreamKey{Device: device})
}

// EraseEpochs erases epochs of device for good (erase_epochs), signed by
// the owner's key: every node deletes their wrapped keys.
func (c *Client) EraseEpochs(ctx context.Context, owner ed25519.PrivateKey, device string, epochs []tx.EpochRange) (*TxCommit, error) {
	return c.Send(ctx, owner, tx.TypeEraseEpochs, &tx.EraseEpochs{Device: device, Epochs: epochs})
}

// EncryptionKey returns the encryption key account published; the error
// wraps ErrNoEncryptionKey if it published none.
func (c *Client) EncryptionKey(ctx context.Context, account string) (private.PublicKey, error) {
	a, err := c.AccountPage(ctx, account, 1, "")
	if err != nil {
		return private.PublicKey{}, err
	}
	if a.EncryptionKey == nil {
		return private.PublicKey{}, fmt.Errorf("%w: %s has published none; its holder publishes one (iotledger keys publish NAME)", ErrNoEncryptionKey, account)
	}
	k := private.PublicKey{X25519: a.EncryptionKey.X25519, XWing: a.EncryptionKey.XWing}
	if err := k.Check(); err != nil {
		return private.PublicKey{}, fmt.Errorf("client: encryption key of %s: %w", account, err)
	}
	return k, nil
}

// AccessPage returns a page of up to limit items (0: the node's default)
// of a device's access (GET /v1/devices/{id}/access) at token ("" for the
// first page): its private fields and current epoch, its grants in
// consumer order, then its epochs newest first.
func (c *Client) AccessPage(ctx context.Context, id string, limit int, token string) (*DeviceAccess, error) {
	var a DeviceAccess
	return &a, c.getJSON(ctx, "/v1/devices/"+url.PathEscape(id)+"/access", pageQuery(limit, token), &a)
}

// Access returns a device's whole access history: every page of
// AccessPage, the grants and epochs of all of them in one DeviceAccess.
func (c *Client) Access(ctx context.Context, id string) (*DeviceAccess, error) {
	var all *DeviceAccess
	token := ""
	for {
		p, err := c.AccessPage(ctx, id, 1000, token)
		if err != nil {
			return nil, err
		}
		if all == nil {
			all = p
		} else {
			all.Grants = append(all.Grants, p.Grants...)
			all.Epochs = append(all.Epochs, p.Epochs...)
		}
		if p.NextPageToken == "" {
			all.NextPageToken = ""
			return all, nil
		}
		token = p.NextPageToken
	}
}

// DeviceEpoch returns epoch n of a device, with its recipients; the error
// is ErrNotFound if the device has no such epoch. It pages through the
// access history until it finds the epoch (epochs come newest first).
func (c *Client) DeviceEpoch(ctx context.Context, id string, n uint64) (*Epoch, error) {
	token := ""
	for {
		p, err := c.AccessPage(ctx, id, 1000, token)
		if err != nil {
			return nil, err
		}
		for i := range p.Epochs {
			switch e := &p.Epochs[i]; {
			case e.Epoch == n:
				return e, nil
			case e.Epoch < n:
				return nil, epochNotFound(id, n)
			}
		}
		if p.NextPageToken == "" {
			return nil, epochNotFound(id, n)
		}
		token = p.NextPageToken
	}
}

func epochNotFound(id string, n uint64) error {
	return &Error{Status: http.StatusNotFound, Title: "Not Found", Detail: fmt.Sprintf("device %s has no epoch %d", id, n)}
}

// The key box's answers (package apiwire's types).
type (
	// WrappedKey is a stream key wrapped to one recipient, to upload:
	// Wrapped is the wrapped key's bytes (the CBOR map {1: kem, 2: enc,
	// 3: ct}); only its commitment, their SHA-256, is on the ledger.
	WrappedKey      = apiwire.StreamKeyItem
	StreamKeyResult = apiwire.StreamKeyResult // what became of one uploaded key
	StoredStreamKey = apiwire.StreamKey       // a wrapped key from the key box, with what the ledger says of it
)

// StreamKeyRefusedError is an upload of which the node refused keys
// (each result's Problem says why).
type StreamKeyRefusedError struct {
	Refused []StreamKeyResult
}

func (e *StreamKeyRefusedError) Error() string {
	parts := make([]string, len(e.Refused))
	for i, r := range e.Refused {
		why := ""
		if r.Problem != nil {
			why = r.Problem.Detail
		}
		parts[i] = fmt.Sprintf("epoch %d for %s: %s", r.Epoch, r.Recipient, why)
	}
	return "client: the node refused wrapped keys: " + strings.Join(parts, "; ")
}

// PutStreamKeys uploads wrapped keys of a device to the node's key box
// (POST /v1/devices/{id}/stream-keys) and returns a result per key. The
// node stores each whose commitment is on the ledger, holds one whose
// commitment is not yet (the transaction that carries it is on its way;
// a node that restarts meanwhile forgets it, so upload again once it is
// committed), and passes what it stores to its peers. Keys it refused
// make the error a *StreamKeyRefusedError, with the results.
func (c *Client) PutStreamKeys(ctx context.Context, device string, keys []WrappedKey) ([]StreamKeyResult, error) {
	body, err := json.Marshal(apiwire.StreamKeyUpload{Keys: keys})
	if err != nil {
		return nil, fmt.Errorf("client: encode wrapped keys: %w", err)
	}
	resp, err := c.do(ctx, http.MethodPost, "/v1/devices/"+url.PathEscape(device)+"/stream-keys", nil, "application/json", body)
	if err != nil {
		return nil, err
	}
	var out apiwire.StreamKeyResults
	if err := decodeJSON(resp, &out); err != nil {
		return nil, err
	}
	if len(out.Results) != len(keys) {
		return nil, fmt.Errorf("client: POST /v1/devices/%s/stream-keys: %d results for %d keys", device, len(out.Results), len(keys))
	}
	var refused []StreamKeyResult
	for _, r := range out.Results {
		if r.Status == apiwire.StreamKeyRefused {
			refused = append(refused, r)
		}
	}
	if refused != nil {
		return out.Results, &StreamKeyRefusedError{Refused: refused}
	}
	return out.Results, nil
}

// WrappedStreamKey returns the stream key of a device's epoch wrapped to
// recipient, from the node's key box (GET
// /v1/devices/{id}/stream-keys/{epoch}?recipient=ACCOUNT). The node never
// opens it: Unwrap it with the recipient's private key (StreamKey does).
// A key committed but not on this node yet (its peers pass it on) is
// asked for again after the node's Retry-After, until ctx ends.
func (c *Client) WrappedStreamKey(ctx context.Context, device string, epoch uint64, recipient string) (*StoredStreamKey, error) {
	path := "/v1/devices/" + url.PathEscape(device) + "/stream-keys/" + strconv.FormatUint(epoch, 10)
	for {
		var k StoredStreamKey
		err := c.getJSON(ctx, path, url.Values{"recipient": {recipient}}, &k)
		e, ok := errors.AsType[*Error](err)
		if !ok || e.Type != problemKeyNotHere {
			return &k, err
		}
		if werr := sleep(ctx, max(e.RetryAfter, 100*time.Millisecond)); werr != nil {
			return nil, err
		}
	}
}

// problemKeyNotHere is the problem of a wrapped key committed on the
// ledger but not on the node yet.
const problemKeyNotHere = "urn:iotledger:problem:key-not-here"

// sleep waits d, or until ctx ends (its error).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// StreamKey fetches the stream key of a device's epoch wrapped to
// account and opens it locally with priv, the account's encryption
// private key; nothing secret leaves the caller. An erased epoch, or one
// the account is no recipient of, is an error that wraps ErrErased or
// ErrNotRecipient and says what to do.
func (c *Client) StreamKey(ctx context.Context, device string, epoch uint64, account string, priv *private.PrivateKey) (private.StreamKey, error) {
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return private.StreamKey{}, err
	}
	wrapped, err := c.WrappedStreamKey(ctx, device, epoch, account)
	if err != nil {
		if why := c.whyNoKey(ctx, device, epoch, account); why != nil {
			return private.StreamKey{}, why
		}
		return private.StreamKey{}, fmt.Errorf("client: the stream key of device %s's epoch %d for %s: %w", device, epoch, account, err)
	}
	k, err := private.Unwrap(chainID, device, epoch, account, priv, wrapped.Wrapped)
	if err != nil {
		if pub, perr := c.EncryptionKey(ctx, account); perr == nil && !samePublic(pub, priv.Public()) {
			return private.StreamKey{}, fmt.Errorf("%w (the private key given is not the one whose public key %s published: use the key file that holds it)", err, account)
		}
		return private.StreamKey{}, err
	}
	return k, nil
}

// whyNoKey explains, from the device's access history, why the key box
// has no wrapped key of epoch for account: the epoch was erased, or the
// account is not one of its recipients. nil when the ledger says neither.
func (c *Client) whyNoKey(ctx context.Context, device string, epoch uint64, account string) error {
	e, err := c.DeviceEpoch(ctx, device, epoch)
	if err != nil {
		return nil
	}
	if e.Erased {
		return fmt.Errorf("%w: epoch %d of device %s was erased at height %d: its stream key is gone from every node, so no one can open its sealed fields (its readings' receipts still verify)", ErrErased, epoch, device, e.ErasedHeight)
	}
	names := make([]string, 0, len(e.Recipients))
	for _, r := range e.Recipients {
		if r.Account == account {
			if len(r.Commitment) == 0 {
				return fmt.Errorf("%w: %s is a recipient of device %s's epoch %d, but the key is not wrapped to it yet (the device wraps it when it announces the epoch's key, at its next sealed reading)", ErrNotRecipient, account, device, epoch)
			}
			return nil
		}
		names = append(names, r.Account)
	}
	return fmt.Errorf("%w: %s is not a recipient of device %s's epoch %d (its recipients: %s); the device's owner grants access with `iotledger access grant %s --to %s --from-epoch %d`",
		ErrNotRecipient, account, device, epoch, strings.Join(names, ", "), device, account, epoch)
}

func samePublic(a, b private.PublicKey) bool {
	return slices.Equal(a.X25519, b.X25519) && slices.Equal(a.XWing, b.XWing)
}

// Opened is a reading with its sealed fields opened.
type Opened struct {
	reading.Reading
	// Private are the sealed fields, opened; Reading.Data holds the
	// public ones.
	Private map[string]any
	// Epoch is the epoch whose stream key opened them.
	Epoch uint64
}

// SignedReading returns reading seq of a device as the device signed it
// (COSE_Sign1, sealed part included), from its receipt, checked against
// the device key the receipt names. A reading committed in the last block
// has its receipt one block later: SignedReading waits for it (the
// node's Retry-After) until ctx ends.
func (c *Client) SignedReading(ctx context.Context, device string, seq uint64) (*reading.Signed, error) {
	for {
		r, err := c.Receipt(ctx, device, seq)
		if errors.Is(err, ErrNotYet) {
			wait := time.Second
			if e, ok := errors.AsType[*Error](err); ok && e.RetryAfter > 0 {
				wait = e.RetryAfter
			}
			if werr := sleep(ctx, wait); werr != nil {
				return nil, fmt.Errorf("client: reading %d of device %s: %w (its receipt was not ready)", seq, device, werr)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		s, err := reading.Decode(r.Reading)
		if err != nil {
			return nil, fmt.Errorf("client: reading %d of device %s: %w", seq, device, err)
		}
		if err := s.Verify(r.DeviceKey); err != nil {
			return nil, fmt.Errorf("client: reading %d of device %s: %w", seq, device, err)
		}
		if s.Device != device || s.Seq != seq {
			return nil, fmt.Errorf("client: the receipt of reading %d of device %s holds reading %d of %s", seq, device, s.Seq, s.Device)
		}
		return s, nil
	}
}

// DecryptReading fetches reading seq of a device and opens its sealed
// fields locally: it fetches the wrapped stream key of the reading's
// epoch for account, opens it with priv (account's encryption private
// key) and opens the sealed fields with it. The node never sees priv or
// the stream key. A reading without sealed fields wraps ErrNotSealed.
func (c *Client) DecryptReading(ctx context.Context, device string, seq uint64, account string, priv *private.PrivateKey) (*Opened, error) {
	s, err := c.SignedReading(ctx, device, seq)
	if err != nil {
		return nil, err
	}
	if s.Sealed == nil {
		return nil, fmt.Errorf("%w: reading %d of device %s is all public", ErrNotSealed, seq, device)
	}
	k, err := c.StreamKey(ctx, device, s.Sealed.Epoch, account, priv)
	if err != nil {
		return nil, err
	}
	fields, err := private.Open(s.Reading, k)
	if err != nil {
		return nil, err
	}
	return &Opened{Reading: s.Reading, Private: fields, Epoch: s.Sealed.Epoch}, nil
}

// Grant grants to (an account that published an encryption key) access
// to a device's sealed fields from epoch fromEpoch on (0: the device's
// current epoch), as the device's owner: owner signs the grant_access
// transaction and ownerKey, the owner's encryption private key, opens the
// stream key of every announced, unerased epoch from fromEpoch to the
// current one that to does not hold yet. Each is wrapped to to's
// published encryption key here, uploaded to the node's key box, and its
// commitment carried by the grant; the keys are uploaded again once the
// grant is committed. It returns the committed grant and the epochs it
// wrapped. Epochs to come are wrapped to to by the device itself.
func (c *Client) Grant(ctx context.Context, owner ed25519.PrivateKey, ownerKey *private.PrivateKey, device, to string, fromEpoch uint64) (*TxCommit, []uint64, error) {
	ownerAcct := address.Account(owner.Public().(ed25519.PublicKey))
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return nil, nil, err
	}
	toKey, err := c.EncryptionKey(ctx, to)
	if err != nil {
		return nil, nil, err
	}
	a, err := c.Access(ctx, device)
	if err != nil {
		return nil, nil, err
	}
	from := fromEpoch
	if from == 0 {
		from = a.StreamEpoch
	}
	f := &tx.GrantAccess{Device: device, To: to, FromEpoch: fromEpoch}
	var keys []WrappedKey
	var epochs []uint64
	for i := len(a.Epochs) - 1; i >= 0; i-- { // oldest first
		e := &a.Epochs[i]
		if e.Epoch < from || e.Epoch > a.StreamEpoch || e.Erased || e.AnnouncedHeight == 0 || hasRecipient(e, to) {
			continue
		}
		sk, err := c.StreamKey(ctx, device, e.Epoch, ownerAcct, ownerKey)
		if err != nil {
			return nil, nil, fmt.Errorf("client: open epoch %d's stream key with the owner's key, to wrap it to %s: %w", e.Epoch, to, err)
		}
		wrapped, cm, err := private.Wrap(chainID, device, e.Epoch, to, toKey, sk)
		if err != nil {
			return nil, nil, fmt.Errorf("client: wrap epoch %d's stream key to %s: %w", e.Epoch, to, err)
		}
		keys = append(keys, WrappedKey{Epoch: e.Epoch, Recipient: to, Wrapped: wrapped})
		f.Wraps = append(f.Wraps, tx.EpochWrap{Epoch: e.Epoch, KEM: uint64(toKey.KEM()), Commitment: cm[:]})
		epochs = append(epochs, e.Epoch)
	}
	// Uploaded before the grant, the wrapped keys wait on the node for its
	// commitments; uploaded after it, they are stored.
	upload := func() error {
		for rest := keys; len(rest) > 0; {
			n := min(len(rest), maxUpload)
			if _, err := c.PutStreamKeys(ctx, device, rest[:n]); err != nil {
				return err
			}
			rest = rest[n:]
		}
		return nil
	}
	_ = upload() // held until the grant commits; the upload after it is the one that counts
	r, err := c.GrantAccess(ctx, owner, f)
	if err != nil {
		return r, nil, err
	}
	if err := upload(); err != nil {
		return r, epochs, fmt.Errorf("client: the grant is committed (block %d), but uploading the wrapped keys of epochs %v after it failed: %w (the node stores those it held from the upload before it)", r.Height, epochs, err)
	}
	return r, epochs, nil
}

// maxUpload is the most wrapped keys one upload takes.
const maxUpload = 1024

func hasRecipient(e *Epoch, account string) bool {
	for _, r := range e.Recipients {
		if r.Account == account {
			return true
		}
	}
	return false
}

// OpenSealed opens the sealed part of r, a reading of device from any
// reading list, with k, the stream key of its epoch (StreamKey fetches and
// opens it; one key opens every reading of its epoch). A list carries no
// device signature, so unlike DecryptReading it checks none; the AEAD
// still binds the fields to the device, seq and epoch. A reading without
// a sealed part wraps ErrNotSealed.
func OpenSealed(device string, r ReadingEntry, k private.StreamKey) (map[string]any, error) {
	if r.Sealed == nil {
		return nil, fmt.Errorf("%w: reading %d of device %s is all public", ErrNotSealed, r.Seq, device)
	}
	return private.OpenFields(device, r.Seq, &reading.Sealed{Epoch: r.Sealed.Epoch, Nonce: r.Sealed.Nonce, Ciphertext: r.Sealed.Ciphertext}, k)
}
