// The iotledger explorer: a hash router over the pages, the node's status
// (banner when it catches up, halts or cannot be reached) and the
// connection indicator.
import './style.css';
import { get, Status } from './api';
import { clear, h } from './dom';
import { setStatusDown, watchConn } from './live';
import { Page, Route, Scope } from './page';
import { overview } from './pages/overview';
import { devices } from './pages/devices';
import { device } from './pages/device';
import { block } from './pages/block';
import { contracts, contract } from './pages/contracts';
import { verifyPage } from './pages/verify';

const pages: Record<string, Page> = {
  '': overview,
  devices,
  device,
  block,
  contracts,
  contract,
  verify: verifyPage,
};

const main = document.getElementById('main')!;
const banner = document.getElementById('banner')!;
const conn = document.getElementById('conn')!;
let scope: Scope | undefined;

function parse(): Route {
  const raw = location.hash.replace(/^#\/?/, '');
  const [p, q] = raw.split('?', 2);
  return { path: p.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q ?? '') };
}

async function render(): Promise<void> {
  scope?.close();
  scope = new Scope();
  const route = parse();
  const page = pages[route.path[0] ?? ''];
  for (const a of document.querySelectorAll('header nav a')) {
    const target = (a.getAttribute('href') ?? '').replace(/^#\/?/, '');
    const here = (route.path[0] ?? '') === target || (target === 'devices' && route.path[0] === 'device') || (target === 'contracts' && route.path[0] === 'contract');
    if (here) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  clear(main);
  if (!page) {
    main.append(h('h1', null, 'Not found'), h('p', null, 'The explorer has no page here. ', h('a', { href: '#/' }, 'Back to the overview')));
    return;
  }
  try {
    await page(main, route, scope);
  } catch (e) {
    if ((e as Error).name !== 'AbortError') main.append(h('p', { class: 'error' }, String((e as Error).message ?? e)));
  }
}

// The node's status: polled, for the banner.
let lastStatus: Status | undefined;
async function poll(): Promise<void> {
  try {
    lastStatus = await get<Status>('/v1/status');
    setStatusDown(false);
  } catch {
    setStatusDown(true);
    lastStatus = undefined;
  }
  showBanner();
}

let connState = 'connecting';
let connLast: string | undefined;
function showBanner(): void {
  const items: HTMLElement[] = [];
  if (connState === 'unreachable') {
    items.push(h('p', { class: 'banner bad' }, h('strong', null, 'Node unreachable. '),
      'The explorer keeps trying and resumes ', connLast ? `after event ${connLast}` : 'where it left off', ' when the node answers, without a reload.'));
  }
  if (lastStatus?.halted) {
    items.push(h('p', { class: 'banner bad' }, h('strong', null, 'Consensus halted '), `(since ${lastStatus.halted.since}): ${lastStatus.halted.reason}`));
  }
  if (lastStatus?.catching_up) {
    items.push(h('p', { class: 'banner warn' }, h('strong', null, 'This node is catching up. '), `It has block ${lastStatus.height}; the network is further on, so what you see here is behind.`));
  }
  clear(banner, items);
}

watchConn((c, last) => {
  connState = c;
  connLast = last;
  conn.className = `conn ${c}`;
  conn.textContent = c === 'live' ? 'live' : c === 'connecting' ? 'connecting…' : 'node unreachable';
  showBanner();
});

// An in-page anchor (the skip link, #main) is not a route: focus its
// target and keep the page's route.
let routeHash = location.hash;
window.addEventListener('hashchange', () => {
  if (location.hash && !location.hash.startsWith('#/')) {
    document.getElementById(decodeURIComponent(location.hash.slice(1)))?.focus();
    history.replaceState(null, '', routeHash || location.pathname);
    return;
  }
  routeHash = location.hash;
  void render();
  main.focus({ preventScroll: true });
});
void render();
void poll();
window.setInterval(poll, 5000);
