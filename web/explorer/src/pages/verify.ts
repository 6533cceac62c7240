// Verify: a receipt checked in the browser, not by the node, against the
// genesis the user trusts. The checks are the receipt verifier library
// (web/verify), loaded from /explorer/verify.js.
import { get, receiptPath, Status } from '../api';
import { clear, h, mono } from '../dom';
import { failure, Route, Scope, section } from '../page';

const verifierURL = '/explorer/verify.js';
const genesisKey = 'iotledger.explorer.genesis';

interface Check { name: string; ok: boolean; detail: string }
interface Verdict { ok: boolean; checks: Check[] }
interface Verifier { verify(receiptJSON: string, genesisJSON: string): Promise<Verdict> }

// Pinned is the genesis the user trusts, as stored in this browser.
interface Pinned { text: string; sha256: string; source: 'node' | 'file'; name: string; at: string; chain_id: string }

function loadPinned(): Pinned | null {
  try {
    const raw = localStorage.getItem(genesisKey);
    return raw ? (JSON.parse(raw) as Pinned) : null;
  } catch {
    return null;
  }
}

async function sha256Hex(text: string): Promise<string> {
  if (!crypto?.subtle) return '(unavailable: the page is not in a secure context; open it over https or from 127.0.0.1)';
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function pin(text: string, source: Pinned['source'], name: string): Promise<Pinned> {
  let chain = '';
  try {
    chain = String(JSON.parse(text).chain_id ?? '');
  } catch {
    throw new Error(`${name} is not JSON: a genesis file is the genesis.json of the chain`);
  }
  if (!chain) throw new Error(`${name} has no chain_id: it is not a CometBFT genesis file`);
  const p: Pinned = { text, sha256: await sha256Hex(text), source, name, at: new Date().toISOString(), chain_id: chain };
  try {
    localStorage.setItem(genesisKey, JSON.stringify(p));
  } catch { /* storage full or off: kept for this page only */ }
  return p;
}

let verifier: Promise<Verifier> | undefined;
function loadVerifier(): Promise<Verifier> {
  verifier ??= import(/* the verifier library's own bundle */ verifierURL).then((m) => {
    if (typeof m.verify !== 'function') throw new Error(`${verifierURL} has no verify function`);
    return m as Verifier;
  });
  verifier.catch(() => {
    verifier = undefined;
  });
  return verifier;
}

export async function verifyPage(root: HTMLElement, route: Route, scope: Scope): Promise<void> {
  root.append(h('h1', null, 'Verify a receipt'),
    h('p', null, 'The checks run here, in your browser: the device signature, that the device id derives from its key, the reading’s inclusion in the log, that the log root is bound in the block’s app hash, and that validators holding more than two thirds of the power signed the block, following the validator set from the genesis you trust.'));
  const [genCard, genBody] = section('The genesis you trust');
  const [recCard, recBody] = section('Receipt');
  const [resCard, resBody] = section('Checks');
  clear(resBody, h('p', { class: 'muted' }, 'Choose or drop a receipt to check it.'));
  root.append(genCard, recCard, resCard);

  let pinned = loadPinned();
  let nodeChain = '';
  try {
    nodeChain = (await get<Status>('/v1/status', scope.signal)).chain_id;
  } catch { /* shown as unknown */ }
  let genesisNote = '';
  if (!pinned) {
    // The bytes as the node sends them: their SHA-256 is what an operator
    // publishes of genesis.json.
    try {
      const resp = await fetch('/v1/genesis', { signal: scope.signal });
      if (resp.ok) pinned = await pin(await resp.text(), 'node', 'this node’s /v1/genesis');
      else genesisNote = `This node does not serve its genesis (GET /v1/genesis answered ${resp.status}): load the genesis.json you hold.`;
    } catch (e) {
      genesisNote = `Could not fetch the node’s genesis: ${(e as Error).message}. Load the genesis.json you hold.`;
    }
  }
  const genFile = h('input', { type: 'file', id: 'genesis-file', accept: '.json,application/json' });
  const renderGenesis = () => clear(genBody,
    pinned ? h('div', { id: 'genesis-pinned' },
      h('p', null, pinned.source === 'node'
        ? [h('strong', null, 'Pinned from this node'), ` on your first visit (${pinned.at}). It is what the node said then: compare its hash with the one the chain’s operators publish.`]
        : [h('strong', null, 'Loaded from your file'), ` ${pinned.name} (${pinned.at}).`]),
      h('p', null, 'Chain ', mono(pinned.chain_id), ', SHA-256 ', mono(pinned.sha256, 'mono id')),
      nodeChain && nodeChain !== pinned.chain_id ? h('p', { class: 'banner bad' }, `This genesis is of chain ${pinned.chain_id}, but the node serves chain ${nodeChain}: receipts of this node will not verify against it.`) : null)
      : h('p', { class: 'banner warn' }, genesisNote || 'No genesis is pinned in this browser.'),
    h('div', { class: 'filters' },
      h('label', { for: 'genesis-file' }, 'Load a genesis file'), genFile,
      pinned ? h('button', { type: 'button', onclick: () => {
        localStorage.removeItem(genesisKey);
        pinned = null;
        genesisNote = 'Forgotten. Reload the page to pin the node’s genesis again, or load a file.';
        renderGenesis();
      } }, 'Forget this genesis') : null));
  genFile.addEventListener('change', async () => {
    const f = genFile.files?.[0];
    if (!f) return;
    try {
      pinned = await pin(await f.text(), 'file', f.name);
      renderGenesis();
      if (current) void run(current.text, current.name);
    } catch (e) {
      genBody.append(failure(e));
    }
  });
  renderGenesis();

  let current: { text: string; name: string } | undefined;
  const run = async (text: string, name: string) => {
    current = { text, name };
    clear(resBody, h('p', { class: 'muted' }, `Checking ${name}…`));
    if (!pinned) {
      clear(resBody, h('p', { class: 'error' }, 'No genesis to check against: load the genesis.json you hold above.'));
      return;
    }
    let v: Verifier;
    try {
      v = await loadVerifier();
    } catch (e) {
      clear(resBody, h('p', { class: 'error' }, `The receipt verifier could not be loaded from ${verifierURL} (${(e as Error).message}). This build of the node does not carry it yet.`));
      return;
    }
    const t0 = performance.now();
    let verdict: Verdict;
    try {
      verdict = await v.verify(text, pinned.text);
    } catch (e) {
      clear(resBody, h('p', { class: 'error', id: 'verdict' }, `${name} could not be checked: ${(e as Error).message}`));
      return;
    }
    const ms = (performance.now() - t0).toFixed(1);
    clear(resBody,
      h('p', { id: 'verdict', class: verdict.ok ? 'banner ok' : 'banner bad' }, verdict.ok ? `✓ ${name}: every check passed (${ms} ms).` : `✗ ${name}: ${verdict.checks.filter((c) => !c.ok).length} check(s) failed.`),
      h('ul', { class: 'checks', id: 'checks' }, verdict.checks.map((c) => h('li', { class: c.ok ? 'ok' : 'bad', 'data-check': c.name },
        h('span', { class: 'mark', 'aria-label': c.ok ? 'pass' : 'fail' }, c.ok ? '✓ pass' : '✗ fail'), ' ', h('strong', null, c.name), h('span', { class: 'detail' }, c.detail)))));
  };

  // The receipt: from the node (a Verify button) or a file.
  const fileIn = h('input', { type: 'file', id: 'receipt-file', accept: '.json,application/json' });
  const drop = h('label', { class: 'drop', for: 'receipt-file', id: 'drop' }, 'Drop a receipt file here, or press to choose one.');
  const readFile = async (f: File) => run(await f.text(), f.name);
  fileIn.addEventListener('change', () => {
    const f = fileIn.files?.[0];
    if (f) void readFile(f);
  });
  drop.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('over');
    const f = ev.dataTransfer?.files?.[0];
    if (f) void readFile(f);
  });
  const dev = route.query.get('device');
  const seq = route.query.get('seq');
  clear(recBody, drop, fileIn);
  if (dev && seq && /^\d+$/.test(seq)) {
    const path = receiptPath(dev, Number(seq));
    recBody.prepend(h('p', null, 'Reading ', h('a', { href: `#/device/${encodeURIComponent(dev)}` }, mono(dev, 'mono id')), ` seq ${seq}, receipt from `, mono(path), ' (',
      h('a', { href: path, download: `receipt-${seq}.json` }, 'download'), ').'));
    try {
      const resp = await fetch(path, { signal: scope.signal });
      if (!resp.ok) {
        let detail = '';
        try {
          detail = (await resp.json()).detail ?? '';
        } catch { /* not problem+json */ }
        clear(resBody, h('p', { class: 'error' }, `The node answered ${resp.status} for the receipt${detail ? ': ' + detail : ''}`));
        return;
      }
      await run(await resp.text(), `receipt of ${dev} seq ${seq}`);
    } catch (e) {
      if ((e as Error).name !== 'AbortError') clear(resBody, failure(e));
    }
  }
}
