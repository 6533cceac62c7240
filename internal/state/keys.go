package state

import (
	"encoding/binary"
	"strings"
)

// Key prefixes and single keys of the store, in key order. Each is a row
// of the On disk table (package comment) and lies in one of
// CoveredPrefixes, HashedPrefixes and DerivedPrefixes; a test holds the
// constants, the lists and the table together.
const (
	PrefixAccount       = "a/"     // a/<address>: Account
	PrefixBlock         = "b/"     // b/<be64 height>: Block
	PrefixChanges       = "c/"     // c/<be64 height>: []Change, the block's covered writes
	PrefixDevice        = "d/"     // d/<device id>: Device
	PrefixEvent         = "e/"     // e/<contract id>/<be64 n>: Event
	PrefixFeed          = "f/"     // f/<be64 height>: Feed, what observers were told of the block
	PrefixValidatorSets = "g/"     // g/<be64 height>: ValidatorSetChange, by the first height it signs
	PrefixHistory       = "h/"     // h/<address>/<be64 height><be32 slot>: Payment
	PrefixEncryptionKey = "i/"     // i/<address>: EncryptionKey, an account's HPKE public keys
	PrefixContract      = "k/"     // k/<contract id>: Contract
	PrefixValidators    = "l/"     // the validator set's records: KeyValidatorSet, KeyOpenProposals
	KeyValidatorSet     = "l/set"  // []Validator: the set after the latest change, by key
	KeyOpenProposals    = "l/open" // []uint64: the open proposals, in number order
	PrefixProgress      = "m/"     // m/<device id>: Progress
	PrefixProposal      = "o/"     // o/<be64 number>: ValidatorProposal
	PrefixPrivateName   = "p/"     // p/<field name>: PrivateName, how many devices keep the name private
	PrefixEpoch         = "q/"     // q/<device id>/<be64 epoch>: Epoch
	PrefixGrant         = "r/"     // r/<device id>/<account>: Grant
	PrefixSeq           = "s/"     // s/<device id>/<be64 seq>: SeqEntry
	PrefixLogLeaf       = "t/l/"   // t/l/<be64 index>: a log leaf (package tlog)
	PrefixLogNode       = "t/n/"   // t/n/<level byte><be64 index>: a log node hash (package tlog)
	KeyLogSize          = "t/s"    // be64: the committed log size (package tlog)
	PrefixTwinLog       = "v/"     // v/<device id>/<side>/<be64 height><be32 slot>: TwinChange
	PrefixTwin          = "w/"     // w/<device id>: Twin
	KeyMeta             = "x/meta" // Meta
)

// CoveredPrefixes are the prefixes of the records the state digest covers:
// every write a block makes under them is one of its change records
// (c/), which NextDigest chains. Covered records are never deleted, only
// overwritten (audit replays their writes). Audit walks them in this order.
var CoveredPrefixes = []string{PrefixAccount, PrefixDevice, PrefixTwin, PrefixContract,
	PrefixValidators, PrefixProposal, PrefixValidatorSets,
	PrefixEncryptionKey, PrefixPrivateName, PrefixEpoch, PrefixGrant}

// HashedPrefixes are the keys the app hash covers other than through the
// state digest's covered records: the change records, whose hash chain the
// digest is, and the reading log's leaves and size, which the log root and
// size in the app hash commit to.
var HashedPrefixes = []string{PrefixChanges, PrefixLogLeaf, KeyLogSize}

// DerivedPrefixes are the keys the app hash does not cover: each is
// rebuilt, or checked, from covered records. The (device, seq) index and
// the devices' progress come from the log and its block times, payment,
// twin and contract event histories from the transactions, the log's
// interior nodes from its leaves, block records, feeds and meta from all of these.
var DerivedPrefixes = []string{PrefixBlock, PrefixEvent, PrefixFeed, PrefixHistory, PrefixProgress,
	PrefixSeq, PrefixLogNode, PrefixTwinLog, KeyMeta}

// Covered reports whether a key is covered by the state digest (one of
// CoveredPrefixes).
func Covered(key string) bool {
	for _, p := range CoveredPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// DeviceKey, AccountKey, ProgressKey and SeqKey are the store keys of records.
func DeviceKey(id string) []byte    { return []byte(PrefixDevice + id) }
func AccountKey(addr string) []byte { return []byte(PrefixAccount + addr) }
func ProgressKey(id string) []byte  { return []byte(PrefixProgress + id) }
func SeqKey(id string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(PrefixSeq+id+"/"), seq)
}

// SeqPrefix is the prefix of a device's (device, seq) index keys.
func SeqPrefix(id string) []byte { return []byte(PrefixSeq + id + "/") }

// HistoryKey is the key of an account's history entry at (height, slot),
// where slot numbers the block's history writes.
func HistoryKey(addr string, height int64, slot uint32) []byte {
	k := binary.BigEndian.AppendUint64([]byte(PrefixHistory+addr+"/"), uint64(height))
	return binary.BigEndian.AppendUint32(k, slot)
}

// HistoryPrefix is the prefix of an account's history keys.
func HistoryPrefix(addr string) []byte { return []byte(PrefixHistory + addr + "/") }

// TwinKey is the key of a device's twin.
func TwinKey(id string) []byte { return []byte(PrefixTwin + id) }

// TwinLogPrefix is the prefix of one side's history of a device's twin.
func TwinLogPrefix(id, side string) []byte { return []byte(PrefixTwinLog + id + "/" + side + "/") }

// TwinLogKey is the key of the change at (height, tx) of one side.
func TwinLogKey(id, side string, height int64, txIndex uint32) []byte {
	k := binary.BigEndian.AppendUint64(TwinLogPrefix(id, side), uint64(height))
	return binary.BigEndian.AppendUint32(k, txIndex)
}

// ContractKey is the key of a contract's record.
func ContractKey(id string) []byte { return []byte(PrefixContract + id) }

// EventKey is the key of a contract's n-th event.
func EventKey(id string, n uint64) []byte {
	return binary.BigEndian.AppendUint64(EventPrefix(id), n)
}

// EventPrefix is the prefix of a contract's event keys.
func EventPrefix(id string) []byte { return []byte(PrefixEvent + id + "/") }

// BlockKey and ChangesKey are the store keys of a block's record and of its
// covered changes.
func BlockKey(h int64) []byte { return binary.BigEndian.AppendUint64([]byte(PrefixBlock), uint64(h)) }
func ChangesKey(h int64) []byte {
	return binary.BigEndian.AppendUint64([]byte(PrefixChanges), uint64(h))
}

// FeedKey is the store key of a block's feed.
func FeedKey(h int64) []byte { return binary.BigEndian.AppendUint64([]byte(PrefixFeed), uint64(h)) }

// ProposalKey and ValidatorSetKey are the store keys of a proposal and of
// the change of the validator set that takes effect at height h.
func ProposalKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(PrefixProposal), id)
}

func ValidatorSetKey(h int64) []byte {
	return binary.BigEndian.AppendUint64([]byte(PrefixValidatorSets), uint64(h))
}

// PrefixEnd is the first key after every key that begins with prefix, for
// an iterator's upper bound.
func PrefixEnd(prefix string) []byte {
	b := []byte(prefix)
	b[len(b)-1]++
	return b
}
