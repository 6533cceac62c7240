// Reads of the node's API (/v1/...), and the wire types the pages use
// (see /v1/openapi.json).

export class APIError extends Error {
  constructor(public status: number, public title: string, public detail: string, public kind?: string) {
    super(detail ? `${title}: ${detail}` : title);
  }
}

export async function get<T>(path: string, signal?: AbortSignal): Promise<T> {
  let resp: Response;
  try {
    resp = await fetch(path, { signal, headers: { Accept: 'application/json' } });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new APIError(0, 'node unreachable', `could not reach the node for ${path}`);
  }
  if (!resp.ok) {
    let title = `${resp.status} ${resp.statusText}`;
    let detail = '';
    let kind: string | undefined;
    try {
      const p = await resp.json();
      title = p.title || title;
      detail = p.detail || '';
      kind = p.type ? String(p.type).split('/').pop() : undefined;
    } catch { /* not problem+json */ }
    throw new APIError(resp.status, title, detail, kind);
  }
  return (await resp.json()) as T;
}

// getOptional answers null where the node has no such thing (404).
export async function getOptional<T>(path: string, signal?: AbortSignal): Promise<T | null> {
  try {
    return await get<T>(path, signal);
  } catch (e) {
    if (e instanceof APIError && e.status === 404) return null;
    throw e;
  }
}

// served answers null where the node has no such route (404, or 405 where
// the path takes another method): a route a newer node adds.
export async function served<T>(path: string, signal?: AbortSignal): Promise<T | null> {
  try {
    return await get<T>(path, signal);
  } catch (e) {
    if (e instanceof APIError && (e.status === 404 || e.status === 405)) return null;
    throw e;
  }
}

export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

export const enc = encodeURIComponent;

export interface Halt { since: string; reason: string }
export interface Status {
  chain_id: string; height: number; app_hash: string; log_size: number; log_root: string;
  validators: number; node_id: string; latest_block_time_ms: number; catching_up: boolean; version: string; halted?: Halt;
}
export interface Device {
  id: string; key: string; owner: string; labels?: Record<string, string>; status: string;
  old_keys?: { key: string; until_height: number }[]; registered_height: number; updated_height: number;
  // What the ledger holds of its readings (newer nodes, in lists and
  // GET /v1/devices/{id}).
  readings?: number; last_reading?: LastReading; gaps?: number; gaps_truncated?: boolean;
  // Private readings (docs/PRIVATE.md): the fields the device seals, and
  // its stream epoch.
  private_fields?: string[]; stream_epoch?: number; stream_key_announced?: boolean;
}
export interface LastReading { seq: number; time_ms: number; index: number; height: number; receipt: string }
export interface LogReading extends ReadingEntry { device: string }
export interface LogReadingPage { readings: LogReading[]; next_page_token?: string }
export interface DeviceChanges { device: string; changes: DeviceEvent[]; next_page_token?: string }
export interface Stats { height: number; log_size: number; devices: { total: number; active: number; quarantined: number; revoked: number }; contracts: number }
export interface BlockTx { hash: string; type: string; bytes: number; readings?: number; signer?: string; nonce?: string }
export interface DevicePage { devices: Device[]; next_page_token?: string }
export interface ReadingEntry { seq: number; time: string; time_ms: number; data: Record<string, number | string | boolean>; index: number; height: number; receipt: string; sealed?: Sealed }
// Sealed is a reading's private fields as the device sealed them: bytes in
// base64, opened only in the browser with a recipient's key (private.ts).
export interface Sealed { epoch: number; nonce: string; ciphertext: string }
export interface ReadingPage { readings: ReadingEntry[]; next_page_token?: string }
export interface Gaps { device: string; count: number; min_seq: number; max_seq: number; gaps: { from: number; to: number }[]; gaps_truncated: boolean }
export interface TxResult { code: number; name: string; log: string }
export interface Block {
  height: number; time_ms: number; log_size: number; log_root: string; state_digest: string; app_hash: string;
  readings: number; txs: number; hash: string; proposer: string; num_txs: number; tx_results?: TxResult[];
  transactions?: BlockTx[];
}
export interface BlockEvent { height: number; time_ms: number; log_size: number; log_root: string; state_digest: string; app_hash: string; readings: number; txs: number }
export interface ReadingEvent { device: string; seq: number; status: string; reason?: string; detail?: string; index: number; height: number }
export interface DeviceEvent { action: string; device: Device; height: number }
export interface LogEntry { index: number; device: string; seq: number; height: number; leaf_hash: string; receipt: string }
export interface Payment { height: number; tx: number; amount: string; counterparty: string; memo?: string; balance_after: string; signed_by?: string }
export interface Account { address: string; token: string; balance: string; nonce: string; history: Payment[]; next_page_token?: string }
export interface TwinState { version: number; height: number; state: Record<string, unknown> }
export interface Twin { device: string; desired: TwinState; reported: TwinState; delta: Record<string, unknown> }
export interface TwinChange { version: number; height: number; tx: number; set?: Record<string, unknown>; unset?: string[]; state: Record<string, unknown>; by: string }
export interface TwinHistory { device: string; side: string; changes: TwinChange[]; next_page_token?: string }
export interface Validator { address: string; pub_key: string; power?: number; account: string }
export interface ValidatorSet { height: number; from_height: number; total_power: number; validators: Validator[]; changes: unknown[] }
export interface ContractSummary {
  id: string; number: number; owner: string; name: string; status: string; deployed_height: number; stopped_height?: number;
  state: Record<string, unknown>; events: number; balance: string; token: string;
}
export interface Contract extends ContractSummary { source: string }
export interface ContractPage { contracts: ContractSummary[]; next_page_token?: string }
export interface ContractEvent { contract: string; n: number; height: number; tx: number; trigger: string; name: string; fields: Record<string, unknown> }
export interface ContractEvents { contract: string; events: ContractEvent[]; next_page_token?: string }

export function receiptPath(device: string, seq: number): string {
  return `/v1/devices/${enc(device)}/readings/${seq}/receipt`;
}
