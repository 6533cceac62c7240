// Small DOM helpers: elements are built with properties and text nodes,
// never from HTML strings, so nothing the node sends can become markup.

export type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v as EventListener);
      else if (k === 'class') el.className = String(v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: (Child | Child[])[]): void {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

export function clear(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children);
}

export function table(head: string[], rows: (Child | Child[])[][], caption?: string): HTMLElement {
  return h('div', { class: 'scroll' },
    h('table', null,
      caption ? h('caption', null, caption) : null,
      h('thead', null, h('tr', null, head.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h('td', null, c)))))));
}

// dl renders pairs as a description list.
export function dl(pairs: [string, Child | Child[]][]): HTMLElement {
  return h('dl', { class: 'kv' }, pairs.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

export function link(href: string, text: Child): HTMLAnchorElement {
  return h('a', { href }, text);
}

export function mono(text: string, cls = 'mono'): HTMLElement {
  return h('code', { class: cls }, text);
}

// short shows a long id with its middle cut, the whole id in the title
// (the full id is one click away on its own page).
export function short(text: string, keep = 10): HTMLElement {
  if (text.length <= keep * 2 + 1) return mono(text);
  const el = mono(`${text.slice(0, keep)}…${text.slice(-keep)}`);
  el.title = text;
  return el;
}

export function since(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

export function json(v: unknown): HTMLElement {
  return h('pre', { class: 'json' }, JSON.stringify(v, null, 2));
}
