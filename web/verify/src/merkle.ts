// The two Merkle trees a receipt is checked with, both over SHA-256 with
// leaf prefix 0x00 and node prefix 0x01: the RFC 6962 log of readings
// (inclusion proofs, as github.com/transparency-dev/merkle/proof verifies
// them) and CometBFT's merkle.HashFromByteSlices (header and validator set
// hashes).
import { sha256 } from "@noble/hashes/sha2.js";
import { concat, equal } from "./bytes.js";

export function leafHash(leaf: Uint8Array): Uint8Array {
  return sha256(concat(Uint8Array.of(0), leaf));
}

export function nodeHash(l: Uint8Array, r: Uint8Array): Uint8Array {
  return sha256(concat(Uint8Array.of(1), l, r));
}

function bitLen(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

function onesCount(x: bigint): number {
  let n = 0;
  for (const c of x.toString(2)) if (c === "1") n++;
  return n;
}

/**
 * rootFromInclusionProof computes the root an RFC 6962 inclusion proof
 * leads to (merkle's proof.RootFromInclusionProof), or throws saying why
 * the proof cannot be one for index in a tree of size leaves.
 */
export function rootFromInclusionProof(index: bigint, size: bigint, leaf: Uint8Array, proof: Uint8Array[]): Uint8Array {
  if (index >= size) throw new Error(`index is beyond size: ${index} >= ${size}`);
  if (leaf.length !== 32) throw new Error(`leafHash has unexpected size ${leaf.length}, want 32`);
  const inner = bitLen(index ^ (size - 1n));
  const border = onesCount(index >> BigInt(inner));
  if (proof.length !== inner + border) throw new Error(`wrong proof size ${proof.length}, want ${inner + border}`);
  let seed = leaf;
  for (let i = 0; i < inner; i++) {
    seed = ((index >> BigInt(i)) & 1n) === 0n ? nodeHash(seed, proof[i]!) : nodeHash(proof[i]!, seed);
  }
  for (let i = inner; i < proof.length; i++) seed = nodeHash(proof[i]!, seed);
  return seed;
}

/** verifyInclusion reports whether the proof leads to root; it throws if the proof is of the wrong shape. */
export function verifyInclusion(index: bigint, size: bigint, leaf: Uint8Array, proof: Uint8Array[], root: Uint8Array): { ok: boolean; computed: Uint8Array } {
  const computed = rootFromInclusionProof(index, size, leaf, proof);
  return { ok: equal(computed, root), computed };
}

/** hashFromByteSlices is CometBFT's crypto/merkle.HashFromByteSlices. */
export function hashFromByteSlices(items: Uint8Array[]): Uint8Array {
  switch (items.length) {
    case 0:
      return sha256(new Uint8Array(0));
    case 1:
      return leafHash(items[0]!);
    default: {
      let k = 1;
      while (k * 2 < items.length) k *= 2;
      return nodeHash(hashFromByteSlices(items.slice(0, k)), hashFromByteSlices(items.slice(k)));
    }
  }
}
