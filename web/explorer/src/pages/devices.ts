// Devices: the registered devices, a page at a time from the node, with
// search and filters passed to the node (q, status, label).
import { APIError, Device, DevicePage, get, qs } from '../api';
import { clear, h, isoTime, link, mono, short, table } from '../dom';
import { failure, Route, Scope } from '../page';

const pageSize = 50;

export async function devices(root: HTMLElement, route: Route, scope: Scope): Promise<void> {
  const q = route.query.get('q') ?? '';
  const status = route.query.get('status') ?? '';
  const label = route.query.get('label') ?? '';
  const token = route.query.get('page_token') ?? '';
  // Tokens of the pages before this one, for Previous.
  const back = route.query.getAll('back');

  const qIn = h('input', { id: 'q', name: 'q', type: 'search', value: q, placeholder: 'device id or owner', autocomplete: 'off' });
  const statusIn = h('select', { id: 'status', name: 'status' },
    ['', 'active', 'quarantined', 'revoked'].map((s) => h('option', { value: s, selected: s === status }, s || 'any status')));
  const labelIn = h('input', { id: 'label', name: 'label', type: 'text', value: label, placeholder: 'site=berlin', autocomplete: 'off' });
  const form = h('form', { class: 'filters', role: 'search', onsubmit: (ev: Event) => {
    ev.preventDefault();
    location.hash = `#/devices${qs({ q: qIn.value.trim(), status: statusIn.value, label: labelIn.value.trim() })}`;
  } },
  h('label', { for: 'q' }, 'Search'), qIn,
  h('label', { for: 'status' }, 'Status'), statusIn,
  h('label', { for: 'label' }, 'Label'), labelIn,
  h('button', { type: 'submit' }, 'Search'));
  const note = h('div');
  const body = h('div', { id: 'device-list' }, h('p', { class: 'muted' }, 'Loading…'));
  root.append(h('h1', null, 'Devices'), form, note, body);

  const filters = { q, status, label };
  const started = performance.now();
  let page: DevicePage;
  try {
    page = await get<DevicePage>(`/v1/devices${qs({ limit: pageSize, page_token: token, ...filters })}`, scope.signal);
  } catch (e) {
    if (e instanceof APIError && e.status === 400 && (q || status || label) && !/page_token/.test(e.detail)) {
      // A node without the filters: say so, and list without them.
      clear(note, h('p', { class: 'banner warn' }, `This node does not search or filter devices yet (it answered: ${e.message}). Showing every device.`));
      try {
        page = await get<DevicePage>(`/v1/devices${qs({ limit: pageSize, page_token: token })}`, scope.signal);
      } catch (e2) {
        clear(body, failure(e2));
        return;
      }
    } else {
      clear(body, failure(e));
      return;
    }
  }
  const ms = Math.round(performance.now() - started);
  // A node that does not know the filters may ignore them: then this page
  // is filtered here, and the page says so.
  const matches = (d: Device) => {
    const labels = Object.entries(d.labels ?? {}).map(([k, v]) => `${k}=${v}`);
    return (!q || [d.id, d.owner, ...labels].some((s) => s.toLowerCase().includes(q.toLowerCase()))) &&
      (!status || d.status === status) &&
      (!label || labels.some((l) => l === label || l.startsWith(label.includes('=') ? label : `${label}=`)));
  };
  if (page.devices.some((d) => !matches(d))) {
    page = { ...page, devices: page.devices.filter(matches) };
    if (!note.hasChildNodes()) {
      clear(note, h('p', { class: 'banner warn' }, 'This node does not search or filter devices yet (it ignored q, status and label): this page of the list is filtered here, in the browser, and later pages may hold more matches.'));
    }
  }
  const nav = h('nav', { class: 'pager', 'aria-label': 'Pages of devices' },
    back.length || token ? h('a', { class: 'button', href: pageHref(filters, back[back.length - 1] ?? '', back.slice(0, -1)) }, '← Previous') : null,
    page.next_page_token ? h('a', { class: 'button', href: pageHref(filters, page.next_page_token, token || back.length ? [...back, token] : ['']) }, 'Next →') : null);
  clear(body,
    h('p', { class: 'muted small', id: 'device-count' }, `${page.devices.length} device${page.devices.length === 1 ? '' : 's'} on this page, answered in ${ms} ms.`),
    page.devices.length === 0 ? h('p', null, 'No device matches.') :
      table(['Device', 'Owner', 'Labels', 'Status', 'Last reading', 'Open gaps'], page.devices.map((d) => [
        link(`#/device/${encodeURIComponent(d.id)}`, mono(d.id, 'mono id')),
        short(d.owner, 8),
        Object.entries(d.labels ?? {}).map(([k, v]) => h('span', { class: 'tag' }, `${k}=${v}`)),
        h('span', { class: `status ${d.status}` }, d.status),
        d.last_reading ? [isoTime(d.last_reading.time_ms), h('br'), h('span', { class: 'muted small' }, `seq ${d.last_reading.seq}, block `, link(`#/block/${d.last_reading.height}`, String(d.last_reading.height)))] : d.readings === 0 ? 'none yet' : '—',
        d.gaps === undefined ? '—' : h('span', { class: d.gaps > 0 ? 'bad' : '' }, `${d.gaps}${d.gaps_truncated ? '+' : ''}`),
      ])),
    nav);
}

function pageHref(filters: Record<string, string>, token: string, back: string[]): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) u.set(k, v);
  if (token) u.set('page_token', token);
  for (const b of back) u.append('back', b);
  const s = u.toString();
  return `#/devices${s ? '?' + s : ''}`;
}
