// Device: its record and key history, a chart per numeric field, the
// latest readings, the gaps, the twin, the account; live.
import { Account, APIError, Device, DeviceChanges, DeviceEvent, enc, Gaps, get, getOptional, qs, ReadingEntry, ReadingEvent, ReadingPage, Status, Twin, TwinHistory, served } from '../api';
import { Chart, lineChart } from '../chart';
import { Child, clear, dl, h, isoTime, json, link, mono, short, table } from '../dom';
import { Stream } from '../live';
import { failure, Route, Scope, section, throttle } from '../page';
import { forgetKey, loadKeyFile, onKeyChange, openReading, userKey } from '../private';

const maxPoints = 10000;
const hour = 3600 * 1000;

export async function device(root: HTMLElement, route: Route, scope: Scope): Promise<void> {
  const id = route.path[1] ?? '';
  const base = `/v1/devices/${enc(id)}`;
  root.append(h('h1', null, 'Device ', mono(id, 'mono id')));
  let d: Device;
  try {
    d = await get<Device>(base, scope.signal);
  } catch (e) {
    root.append(failure(e));
    return;
  }
  const [recCard, recBody] = section('Record');
  const [chartCard, chartBody] = section('Readings over time');
  const [latestCard, latestBody] = section('Latest readings');
  const [gapsCard, gapsBody] = section('Sequence and gaps');
  const [twinCard, twinBody] = section('Twin');
  const [acctCard, acctBody] = section('Balance and payments');
  const [changesCard, changesBody] = section('Key history and status changes');
  root.append(recCard, chartCard, h('div', { class: 'grid2' }, latestCard, gapsCard), h('div', { class: 'grid2' }, twinCard, acctCard), changesCard);

  const renderRecord = (d: Device) => clear(recBody, dl([
    ['Status', h('span', { class: `status ${d.status}` }, d.status)],
    ['Owner', link(`#/devices${qs({ q: d.owner })}`, mono(d.owner))],
    ['Labels', Object.entries(d.labels ?? {}).map(([k, v]) => h('span', { class: 'tag' }, `${k}=${v}`))],
    ['Key (Ed25519)', mono(d.key)],
    ['Registered', link(`#/block/${d.registered_height}`, `block ${d.registered_height}`)],
    ['Last changed', link(`#/block/${d.updated_height}`, `block ${d.updated_height}`)],
    ...(d.readings !== undefined ? [['Readings committed', String(d.readings)] as [string, string]] : []),
    ...(d.last_reading ? [['Last reading', [isoTime(d.last_reading.time_ms), ` (seq ${d.last_reading.seq}, block `, link(`#/block/${d.last_reading.height}`, String(d.last_reading.height)), ')']] as [string, Child[]]] : []),
    ...(d.private_fields?.length ? [['Private fields', [...d.private_fields.map((f) => h('span', { class: 'tag locked', title: 'sealed on the device' }, `${f} (sealed)`)),
      ` stream epoch ${d.stream_epoch ?? '—'}${d.stream_key_announced ? '' : ' (its key is not announced yet)'}`]] as [string, Child[]]] : []),
  ]));
  renderRecord(d);

  // Private fields: sealed on the device; opened here with the user's key
  // file, which stays in this page.
  let chainID = '';
  const [privCard, privBody] = section('Private fields');
  const keyIn = h('input', { type: 'file', id: 'private-key-file', accept: '.json,application/json' });
  const keyNote = h('p', { id: 'private-key', class: 'muted' });
  const renderKeyNote = () => {
    const k = userKey();
    clear(keyNote, k ? ['Key of ', mono(k.address, 'mono id'), ` (${k.name}) loaded in this page. `, h('button', { type: 'button', onclick: () => forgetKey() }, 'Forget it')]
      : 'No key loaded: private fields show as locked.');
  };
  clear(privBody,
    h('p', null, 'This device seals some fields before it signs: validators, this node and anyone with its disk see ciphertext. Open them here with the key file of an account that may read them (the owner, or a consumer the owner granted): keys/NAME.json in your home. The key is read into this page only; it is not stored or sent, and the fields are opened in your browser.'),
    h('div', { class: 'filters' }, h('label', { for: 'private-key-file' }, 'Load a key file'), keyIn),
    keyNote);
  renderKeyNote();
  keyIn.addEventListener('change', async () => {
    const f = keyIn.files?.[0];
    if (!f) return;
    try {
      await loadKeyFile(f);
    } catch (e) {
      clear(keyNote, h('span', { class: 'error' }, (e as Error).message));
    }
  });
  if (d.private_fields?.length) root.insertBefore(privCard, chartCard);

  // Status changes: the committed ones where the node lists them (GET
  // /v1/devices/{id}/changes, newer nodes), and those seen live.
  const changes: DeviceEvent[] = [];
  let listed = false;
  try {
    const page = await served<DeviceChanges>(`${base}/changes${qs({ limit: 100 })}`, scope.signal);
    if (page) {
      listed = true;
      changes.push(...page.changes);
    }
  } catch { /* shown as live only */ }
  const renderChanges = (d: Device) => clear(changesBody,
    table(['Key', 'Used until'], [
      ...(d.old_keys ?? []).map((k) => [mono(k.key), link(`#/block/${k.until_height}`, `block ${k.until_height}`)]),
      [mono(d.key), 'now'],
    ], 'Keys, oldest first'),
    h('h3', null, listed ? 'Status changes, newest first' : 'Status changes seen live'),
    changes.length ? table(['Change', 'Block', 'Status after'], changes.map((c) => [c.action, link(`#/block/${c.height}`, String(c.height)), h('span', { class: `status ${c.device.status}` }, c.device.status)]))
      : h('p', { class: 'muted' }, `None since this page opened; the record last changed in block ${d.updated_height}.`));
  renderChanges(d);

  // Chart: a range, then one chart per numeric field.
  const charts: Chart[] = [];
  scope.onClose(() => charts.forEach((c) => c.destroy()));
  const fromIn = h('input', { type: 'datetime-local', id: 'from', 'aria-label': 'From' });
  const toIn = h('input', { type: 'datetime-local', id: 'to', 'aria-label': 'To' });
  const chartsEl = h('div', { id: 'device-charts' });
  const chartNote = h('p', { class: 'muted small' });
  let range = { from: Date.now() - hour, to: 0 };
  const load = async (from: number, to: number) => {
    range = { from, to };
    clear(chartsEl, h('p', { class: 'muted' }, 'Loading…'));
    charts.splice(0).forEach((c) => c.destroy());
    const rows: ReadingEntry[] = [];
    let token = '';
    try {
      do {
        const page = await get<ReadingPage>(`${base}/readings${qs({ by: 'time', from, to: to || undefined, limit: 1000, page_token: token })}`, scope.signal);
        rows.push(...page.readings);
        token = page.next_page_token ?? '';
      } while (token && rows.length < maxPoints);
    } catch (e) {
      clear(chartsEl, failure(e));
      return;
    }
    drawCharts(chartsEl, charts, rows);
    chartNote.textContent = `${rows.length} reading${rows.length === 1 ? '' : 's'} from ${isoTime(from)} to ${to ? isoTime(to) : 'now'}${token ? ` (the first ${maxPoints}; narrow the range for the rest)` : ''}, by device time.`;
  };
  const btn = (text: string, fn: () => void) => h('button', { type: 'button', onclick: fn }, text);
  clear(chartBody,
    h('div', { class: 'filters' },
      btn('Last hour', () => void load(Date.now() - hour, 0)),
      btn('Last day', () => void load(Date.now() - 24 * hour, 0)),
      h('label', { for: 'from' }, 'From'), fromIn, h('label', { for: 'to' }, 'To'), toIn,
      btn('Show range', () => {
        const f = Date.parse(fromIn.value);
        const t = toIn.value ? Date.parse(toIn.value) : 0;
        if (Number.isNaN(f)) {
          chartNote.textContent = 'Pick a start time first.';
          return;
        }
        void load(f, t);
      })),
    chartNote, chartsEl);
  void load(range.from, 0);

  let gaps: Gaps | null = null;
  const latest = async () => {
    try {
      gaps = await get<Gaps>(`${base}/gaps`, scope.signal);
      renderGaps(gapsBody, gaps);
      if (gaps.count === 0) {
        clear(latestBody, h('p', { class: 'muted' }, 'No reading committed yet.'));
        return;
      }
      const page = await get<ReadingPage>(`${base}/readings${qs({ by: 'seq', from: Math.max(gaps.min_seq, gaps.max_seq - 19), limit: 20 })}`, scope.signal);
      const rows = page.readings.slice().reverse();
      clear(latestBody, table(['Seq', 'Device time', 'Log index', 'Block', 'Data', ''], rows.map((r) => [
        String(r.seq), isoTime(r.time_ms), String(r.index), link(`#/block/${r.height}`, String(r.height)),
        [mono(JSON.stringify(r.data), 'mono data'), r.sealed ? sealedCell(r) : null],
        h('a', { class: 'button', href: `#/verify${qs({ device: id, seq: r.seq })}` }, 'Verify'),
      ])));
      if (rows.some((r) => r.sealed) && !privCard.isConnected) root.insertBefore(privCard, chartCard);
      void openSealed(rows);
    } catch (e) {
      if ((e as Error).name !== 'AbortError') clear(latestBody, failure(e));
    }
  };
  // A reading's sealed part: locked, or opened with the loaded key.
  const cells = new Map<number, HTMLElement>();
  const sealedCell = (r: ReadingEntry): HTMLElement => {
    const c = h('div', { class: 'sealed locked', 'data-seq': String(r.seq) }, `sealed, epoch ${r.sealed!.epoch}: locked`);
    cells.set(r.seq, c);
    return c;
  };
  const openSealed = async (rows: ReadingEntry[]) => {
    if (!userKey()) return;
    if (!chainID) {
      try {
        chainID = (await get<Status>('/v1/status', scope.signal)).chain_id;
      } catch (e) {
        clear(keyNote, failure(e));
        return;
      }
    }
    for (const r of rows) {
      const c = cells.get(r.seq);
      if (!r.sealed || !c) continue;
      try {
        const fields = await openReading(r, id, chainID, scope.signal);
        c.className = 'sealed opened';
        clear(c, 'opened here: ', mono(JSON.stringify(fields), 'mono data'));
        c.title = 'Opened in this browser with your key';
      } catch (e) {
        if ((e as Error).name === 'AbortError') return;
        c.className = 'sealed locked';
        clear(c, `sealed, epoch ${r.sealed.epoch}: locked (${(e as Error).message})`);
      }
    }
  };
  scope.onClose(onKeyChange(() => {
    renderKeyNote();
    void latest();
  }));
  void latest();
  const twin = () => void renderTwin(twinBody, base, scope);
  twin();
  void renderAccount(acctBody, id, scope);

  const latestSoon = throttle(() => void latest(), 2000);
  const chartSoon = throttle(() => {
    if (!range.to) void load(range.from, 0);
  }, 10000);
  const stream = new Stream({
    types: ['reading', 'device', 'twin'],
    device: id,
    on: {
      reading: (r: ReadingEvent) => {
        if (r.device === id && r.status === 'accepted') {
          latestSoon();
          chartSoon();
        }
      },
      device: (ev: DeviceEvent) => {
        if (ev.device.id !== id) return;
        changes.unshift(ev);
        renderRecord(ev.device);
        renderChanges(ev.device);
      },
      twin: () => twin(),
    },
  });
  scope.onClose(() => stream.close());
}

function drawCharts(el: HTMLElement, charts: Chart[], rows: ReadingEntry[]): void {
  const fields = new Set<string>();
  for (const r of rows) for (const [k, v] of Object.entries(r.data)) if (typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v))) fields.add(k);
  clear(el);
  if (fields.size === 0) {
    el.append(h('p', { class: 'muted' }, rows.length ? 'No numeric field in these readings.' : 'No reading in this range.'));
    return;
  }
  const xs = rows.map((r) => r.time_ms / 1000);
  for (const f of [...fields].sort()) {
    const box = h('div', { class: 'chart', 'data-field': f });
    el.append(h('h3', null, f), box);
    const c = lineChart(box, f);
    c.set(xs, rows.map((r) => {
      const v = r.data[f];
      return typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : null;
    }));
    box.dataset.points = String(rows.length);
    charts.push(c);
  }
}

function renderGaps(body: HTMLElement, g: Gaps): void {
  clear(body,
    dl([['Readings committed', String(g.count)], ['Sequence numbers', g.count ? `${g.min_seq} to ${g.max_seq}` : '—'], ['Missing ranges', String(g.gaps.length) + (g.gaps_truncated ? ' (more: the oldest were dropped)' : '')]]),
    g.gaps.length ? table(['From', 'To', 'Missing'], g.gaps.map((r) => [String(r.from), String(r.to), String(r.to - r.from + 1)])) : h('p', { class: 'ok' }, 'No gap: every sequence number in between is committed.'));
}

async function renderTwin(body: HTMLElement, base: string, scope: Scope): Promise<void> {
  try {
    const [t, des, rep] = await Promise.all([
      get<Twin>(`${base}/twin`, scope.signal),
      get<TwinHistory>(`${base}/twin/history${qs({ side: 'desired', limit: 10 })}`, scope.signal),
      get<TwinHistory>(`${base}/twin/history${qs({ side: 'reported', limit: 10 })}`, scope.signal),
    ]);
    const hist = [...des.changes.map((c) => ({ side: 'desired', c })), ...rep.changes.map((c) => ({ side: 'reported', c }))].sort((a, b) => b.c.height - a.c.height || b.c.tx - a.c.tx);
    clear(body,
      h('div', { class: 'grid3' },
        h('div', null, h('h3', null, `Desired (v${t.desired.version})`), json(t.desired.state)),
        h('div', null, h('h3', null, `Reported (v${t.reported.version})`), json(t.reported.state)),
        h('div', null, h('h3', null, 'Delta'), Object.keys(t.delta ?? {}).length ? json(t.delta) : h('p', { class: 'ok' }, 'In sync.'))),
      h('h3', null, 'History'),
      hist.length ? table(['Side', 'Version', 'Block', 'Set', 'Unset', 'By'], hist.map(({ side, c }) => [
        side, String(c.version), link(`#/block/${c.height}`, String(c.height)), mono(JSON.stringify(c.set ?? {})), (c.unset ?? []).join(', '), short(c.by, 8),
      ])) : h('p', { class: 'muted' }, 'Never set.'));
  } catch (e) {
    if ((e as Error).name !== 'AbortError') clear(body, failure(e));
  }
}

async function renderAccount(body: HTMLElement, id: string, scope: Scope): Promise<void> {
  try {
    const a = await getOptional<Account>(`/v1/accounts/${enc(id)}${qs({ limit: 20 })}`, scope.signal);
    if (!a) {
      clear(body, h('p', { class: 'muted' }, 'No payment to or from this device yet.'));
      return;
    }
    clear(body,
      dl([['Balance', `${a.balance} ${a.token}`], ['Nonce', a.nonce]]),
      a.history.length ? table(['Block', 'Amount', 'Counterparty', 'Memo', 'Balance after'], a.history.map((p) => [
        link(`#/block/${p.height}`, String(p.height)), h('span', { class: p.amount.startsWith('-') ? 'out' : 'in' }, p.amount), short(p.counterparty, 8), p.memo ?? '', p.balance_after,
      ]), 'Payments, newest first') : h('p', { class: 'muted' }, 'No payment.'));
  } catch (e) {
    if (e instanceof APIError && e.status === 400) clear(body, h('p', { class: 'muted' }, `The node keeps no account for this id (${e.detail}).`));
    else if ((e as Error).name !== 'AbortError') clear(body, failure(e));
  }
}
