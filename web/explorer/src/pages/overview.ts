// Overview: the chain at a glance, live.
import { Block, BlockEvent, get, getOptional, LogEntry, LogReadingPage, Stats, Status, ValidatorSet, served } from '../api';
import { lineChart } from '../chart';
import { clear, dl, h, isoTime, link, mono, short, since, table } from '../dom';
import { Stream } from '../live';
import { failure, Route, Scope, section, throttle } from '../page';

const windowMs = 10 * 60 * 1000;
const bucketMs = 5000;

export async function overview(root: HTMLElement, _route: Route, scope: Scope): Promise<void> {
  root.append(h('h1', null, 'Overview'));
  const [statusCard, statusBody] = section('Chain');
  const chartEl = h('div', { class: 'chart', id: 'rate-chart' });
  const rateNote = h('p', { class: 'muted small' }, 'Readings committed per second, in 5-second steps, from the blocks of the last 10 minutes.');
  const [chartCard, chartBody] = section('Committed readings per second', rateNote);
  clear(chartBody, chartEl);
  const [valCard, valBody] = section('Validators');
  const [statsCard, statsBody] = section('Devices by status');
  const [blocksCard, blocksBody] = section('Latest blocks');
  const [readCard, readBody] = section('Latest readings');
  root.append(statusCard, h('div', { class: 'grid2' }, chartCard, valCard), h('div', { class: 'grid2' }, blocksCard, readCard), statsCard);

  let status: Status;
  try {
    status = await get<Status>('/v1/status', scope.signal);
  } catch (e) {
    clear(statusBody, failure(e));
    return;
  }
  let height = status.height;
  let lastTime = status.latest_block_time_ms;
  let logSize = status.log_size;
  const heightEl = h('span', { id: 'height', class: 'big' }, String(height));
  const ageEl = h('span', { id: 'block-age' }, lastTime ? since(lastTime) : '—');
  const logEl = h('span', null, String(logSize));
  clear(statusBody, dl([
    ['Chain id', mono(status.chain_id)],
    ['Height', link(`#/block/${height}`, heightEl)],
    ['Last block', ageEl],
    ['Readings in the log', logEl],
    ['Log root', short(status.log_root, 12)],
    ['Node', [short(status.node_id, 8), `, version ${status.version}`]],
  ]));
  // For measurements: the overview shows the chain (the browser tests
  // read this mark).
  performance.mark('overview-ready');
  const tick = window.setInterval(() => {
    if (lastTime) ageEl.textContent = since(lastTime);
  }, 1000);
  scope.onClose(() => window.clearInterval(tick));

  void validators(valBody, scope);
  void deviceStats(statsBody, scope);

  // The chart and the latest blocks come from block events: replayed from
  // about 10 minutes back, then live.
  const chart = lineChart(chartEl, 'readings/s', { bars: true });
  scope.onClose(() => chart.destroy());
  const blocks = new Map<number, BlockEvent>();
  const redraw = () => {
    const end = Math.max(Date.now(), lastTime);
    const first = Math.floor((end - windowMs) / bucketMs);
    const n = Math.floor(end / bucketMs) - first + 1;
    const xs: number[] = [];
    const ys: number[] = [];
    for (let i = 0; i < n; i++) {
      xs.push(((first + i) * bucketMs) / 1000);
      ys.push(0);
    }
    for (const [hgt, b] of blocks) {
      const i = Math.floor(b.time_ms / bucketMs) - first;
      if (i < 0) {
        blocks.delete(hgt);
        continue;
      }
      if (i < n) ys[i] += b.readings / (bucketMs / 1000);
    }
    chart.set(xs, ys);
    // What the chart holds, for tests: a hole in the heights is a missed event.
    chartEl.dataset.points = String(blocks.size);
    if (blocks.size) {
      chartEl.dataset.first = String(Math.min(...blocks.keys()));
      chartEl.dataset.last = String(Math.max(...blocks.keys()));
    }
    const latest = [...blocks.values()].sort((a, b) => b.height - a.height).slice(0, 10);
    clear(blocksBody, latest.length === 0 ? h('p', { class: 'muted' }, 'No block in the last 10 minutes.') :
      table(['Height', 'Time', 'Readings', 'Txs'], latest.map((b) => [link(`#/block/${b.height}`, String(b.height)), isoTime(b.time_ms), b.readings, b.txs])));
  };
  const redrawSoon = throttle(redraw, 1000);
  const everyFive = window.setInterval(redraw, bucketMs);
  scope.onClose(() => window.clearInterval(everyFive));

  const latestReadings = throttle(() => void recentReadings(readBody, logSize, scope), 2000);
  latestReadings();

  const after = await replayStart(status, scope);
  const stream = new Stream({
    types: ['block'],
    after,
    on: {
      block: (b: BlockEvent) => {
        blocks.set(b.height, b);
        if (b.height >= height) {
          height = b.height;
          lastTime = b.time_ms;
          logSize = b.log_size;
          heightEl.textContent = String(height);
          (heightEl.parentElement as HTMLAnchorElement).href = `#/block/${height}`;
          ageEl.textContent = since(lastTime);
          logEl.textContent = String(logSize);
          if (b.readings > 0) latestReadings();
        }
        redrawSoon();
      },
    },
    onExpired: () => {
      rateNote.textContent = 'Readings committed per second, in 5-second steps, since this page opened (the node no longer replays the blocks before).';
    },
  });
  scope.onClose(() => stream.close());
  redraw();
}

// replayStart picks the event id to replay from so that the stream starts
// about 10 minutes back: the block rate comes from the last 100 blocks.
async function replayStart(status: Status, scope: Scope): Promise<string | undefined> {
  const hgt = status.height;
  if (hgt < 1) return undefined;
  const k = Math.min(hgt - 1, 100);
  let n = 20;
  if (k > 0) {
    try {
      const old = await get<Block>(`/v1/blocks/${hgt - k}`, scope.signal);
      const perBlock = Math.max(1, (status.latest_block_time_ms - old.time_ms) / k);
      n = Math.ceil(windowMs / perBlock) + 2;
    } catch { /* keep the guess */ }
  }
  n = Math.max(1, Math.min(n, hgt, 990));
  return `${hgt - n + 1}-0`;
}

async function validators(body: HTMLElement, scope: Scope): Promise<void> {
  try {
    const vs = await get<ValidatorSet>('/v1/validators', scope.signal);
    clear(body,
      h('p', null, `${vs.validators.length} validator${vs.validators.length === 1 ? '' : 's'}, total power ${vs.total_power}; this set signs from block ${vs.from_height}.`),
      table(['Address', 'Power', 'Share', 'Account'], vs.validators.map((v) => [
        short(v.address, 8), v.power ?? '—', v.power && vs.total_power ? `${((100 * v.power) / vs.total_power).toFixed(1)} %` : '—', short(v.account, 8),
      ])));
  } catch (e) {
    clear(body, failure(e));
  }
}

// deviceStats shows the device counts by status where the node serves
// them (GET /v1/stats, newer nodes), every 15 seconds.
async function deviceStats(body: HTMLElement, scope: Scope): Promise<void> {
  const once = async (): Promise<boolean> => {
    try {
      const st = await served<Stats>('/v1/stats', scope.signal);
      if (!st || !st.devices) {
        clear(body, h('p', { class: 'muted' }, 'This node does not serve device counts (GET /v1/stats answered 404).'));
        return false;
      }
      const d = st.devices;
      const stat = (n: number, label: string, href: string, cls = '') =>
        h('a', { class: 'stat', href }, h('span', { class: `big ${cls}` }, String(n)), h('span', { class: 'muted' }, label));
      clear(body, h('div', { class: 'stats', id: 'device-stats' },
        stat(d.total, 'registered', '#/devices'),
        stat(d.active, 'active', '#/devices?status=active', 'ok'),
        stat(d.quarantined, 'quarantined', '#/devices?status=quarantined', d.quarantined ? 'warn' : ''),
        stat(d.revoked, 'revoked', '#/devices?status=revoked', d.revoked ? 'bad' : ''),
        stat(st.contracts, 'contracts deployed', '#/contracts')));
      return true;
    } catch (e) {
      if ((e as Error).name !== 'AbortError') clear(body, failure(e));
      return true;
    }
  };
  if (await once()) {
    const t = window.setInterval(() => void once(), 15000);
    scope.onClose(() => window.clearInterval(t));
  }
}

// recentReadings shows the newest readings of the log, each with its
// device's full id and a Verify button: from GET /v1/readings where the
// node serves it, else from the log entries at the end of the log.
let newestRoute: boolean | undefined;
async function recentReadings(body: HTMLElement, logSize: number, scope: Scope): Promise<void> {
  if (scope.done) return;
  if (logSize === 0) {
    clear(body, h('p', { class: 'muted' }, 'No reading yet.'));
    return;
  }
  type Row = { index: number; device: string; seq: number; height: number; time_ms?: number };
  let rows: Row[] | null = null;
  try {
    if (newestRoute !== false) {
      const page = await served<LogReadingPage>('/v1/readings?limit=8', scope.signal);
      newestRoute = page !== null;
      if (page) rows = page.readings;
    }
    if (!rows) {
      const idx: number[] = [];
      for (let i = logSize - 1; i >= Math.max(0, logSize - 8); i--) idx.push(i);
      const entries = await Promise.all(idx.map((i) => getOptional<LogEntry>(`/v1/log/entries/${i}`, scope.signal)));
      rows = entries.filter((e): e is LogEntry => e !== null);
    }
    clear(body, table(['Log index', 'Device', 'Seq', 'Block', ''], rows.map((e) => [
      String(e.index),
      link(`#/device/${encodeURIComponent(e.device)}`, mono(e.device, 'mono id')),
      String(e.seq),
      link(`#/block/${e.height}`, String(e.height)),
      h('a', { class: 'button', href: `#/verify?device=${encodeURIComponent(e.device)}&seq=${e.seq}` }, 'Verify'),
    ])));
  } catch (e) {
    if ((e as Error).name !== 'AbortError') clear(body, failure(e));
  }
}
