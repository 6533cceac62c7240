// Block: its header data, transactions and the readings it appended.
import { Block, get, getOptional, LogEntry, LogReadingPage, qs, served } from '../api';
import { clear, dl, h, isoTime, link, mono, short, table } from '../dom';
import { failure, Route, Scope, section } from '../page';

const perPage = 50;

export async function block(root: HTMLElement, route: Route, scope: Scope): Promise<void> {
  const height = Number(route.path[1]);
  root.append(h('h1', null, `Block ${route.path[1] ?? ''}`));
  if (!Number.isSafeInteger(height) || height < 1) {
    root.append(h('p', { class: 'error' }, 'A block height is a whole number from 1.'));
    return;
  }
  let b: Block;
  try {
    b = await get<Block>(`/v1/blocks/${height}`, scope.signal);
  } catch (e) {
    root.append(failure(e));
    return;
  }
  root.append(h('nav', { class: 'pager', 'aria-label': 'Neighbouring blocks' },
    height > 1 ? h('a', { class: 'button', href: `#/block/${height - 1}` }, `← ${height - 1}`) : null,
    h('a', { class: 'button', href: `#/block/${height + 1}` }, `${height + 1} →`)));
  const [hdr, hdrBody] = section('Block');
  clear(hdrBody, dl([
    ['Height', String(b.height)],
    ['Time', isoTime(b.time_ms)],
    ['Hash', mono(b.hash)],
    ['Proposer', mono(b.proposer)],
    ['App hash', mono(b.app_hash)],
    ['Log size after', String(b.log_size)],
    ['Log root', mono(b.log_root)],
    ['State digest', mono(b.state_digest)],
    ['Readings appended', String(b.readings)],
    ['Transactions', `${b.txs} executed of ${b.num_txs}`],
  ]));
  const [txCard, txBody] = section('Transactions');
  const results = b.tx_results ?? [];
  const txs = b.transactions ?? [];
  if (txs.length) {
    // The block's transactions (newer nodes); a signed transaction's
    // result is the next of tx_results (a batch of readings has none).
    let r = 0;
    clear(txBody, table(['#', 'Type', 'Hash', 'Size', 'Readings', 'Signer', 'Result'], txs.map((t, i) => {
      const res = t.type !== 'readings' && t.type !== 'undecodable' ? results[r++] : undefined;
      return [String(i), t.type, short(t.hash, 8), `${t.bytes} B`, t.readings ?? '', t.signer ? short(t.signer, 8) : '',
        res ? h('span', { class: res.code === 0 ? 'ok' : 'bad', title: res.log }, res.name) : ''];
    })));
  } else {
    clear(txBody, results.length ? table(['#', 'Result', 'Code', 'Log'], results.map((t, i) => [String(i), h('span', { class: t.code === 0 ? 'ok' : 'bad' }, t.name), String(t.code), t.log])) : h('p', { class: 'muted' }, 'No transaction.'));
  }
  const [rdCard, rdBody] = section('Readings');
  root.append(hdr, txCard, rdCard);
  const first = b.log_size - b.readings;
  let blockReadings: boolean | undefined;
  const tokens = new Map<number, string>(); // page_token of the page from a log index
  const show = async (from: number) => {
    const to = Math.min(b.log_size, from + perPage);
    const idx: number[] = [];
    for (let i = from; i < to; i++) idx.push(i);
    try {
      type Row = { index: number; device: string; seq: number; leaf_hash?: string; time_ms?: number };
      let entries: Row[] | null = null;
      if (blockReadings !== false) {
        // Newer nodes list a block's readings in one request.
        const page = await served<LogReadingPage>(`/v1/blocks/${height}/readings${qs({ limit: perPage, page_token: tokens.get(from) })}`, scope.signal);
        blockReadings = page !== null;
        if (page) {
          entries = page.readings;
          if (page.next_page_token) tokens.set(from + perPage, page.next_page_token);
        }
      }
      entries ??= await Promise.all(idx.map((i) => get<LogEntry>(`/v1/log/entries/${i}`, scope.signal)));
      clear(rdBody,
        h('p', { class: 'muted small' }, `Log indices ${from} to ${to - 1} of ${first} to ${b.log_size - 1}.`),
        table(['Log index', 'Device', 'Seq', blockReadings ? 'Device time' : 'Leaf hash', ''], entries.map((e) => [
          String(e.index), link(`#/device/${encodeURIComponent(e.device)}`, mono(e.device, 'mono id')), String(e.seq),
          e.time_ms !== undefined ? isoTime(e.time_ms) : e.leaf_hash ? short(e.leaf_hash, 8) : '',
          h('a', { class: 'button', href: `#/verify?device=${encodeURIComponent(e.device)}&seq=${e.seq}` }, 'Verify'),
        ])),
        h('nav', { class: 'pager' },
          from > first ? h('button', { type: 'button', onclick: () => void show(Math.max(first, from - perPage)) }, '← Earlier') : null,
          to < b.log_size && (!blockReadings || tokens.has(to)) ? h('button', { type: 'button', onclick: () => void show(to) }, 'Later →') : null));
    } catch (e) {
      if ((e as Error).name !== 'AbortError') clear(rdBody, failure(e));
    }
  };
  if (b.readings === 0) clear(rdBody, h('p', { class: 'muted' }, 'No reading in this block.'));
  else void show(first);
}
