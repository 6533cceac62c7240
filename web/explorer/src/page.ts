// What a page gets: where to draw, its route's parameters, and a scope
// that ends (aborting fetches, closing streams, destroying charts) when
// the user leaves it.
import { APIError } from './api';
import { h } from './dom';

export class Scope {
  private ctl = new AbortController();
  private cleanups: (() => void)[] = [];
  get signal(): AbortSignal {
    return this.ctl.signal;
  }
  get done(): boolean {
    return this.ctl.signal.aborted;
  }
  onClose(fn: () => void): void {
    this.cleanups.push(fn);
  }
  close(): void {
    this.ctl.abort();
    for (const fn of this.cleanups.splice(0)) {
      try {
        fn();
      } catch { /* already gone */ }
    }
  }
}

export interface Route {
  path: string[]; // #/device/ID -> ['device', 'ID']
  query: URLSearchParams;
}

export type Page = (root: HTMLElement, route: Route, scope: Scope) => void | Promise<void>;

// failure renders an error where a section's content would be.
export function failure(e: unknown): HTMLElement {
  if (e instanceof APIError) {
    return h('p', { class: 'error' }, e.status ? `The node answered ${e.status}: ${e.message}` : `${e.title}: ${e.detail}`);
  }
  return h('p', { class: 'error' }, String((e as Error)?.message ?? e));
}

// section returns a titled section and its body element.
export function section(title: string, ...extra: Node[]): [HTMLElement, HTMLElement] {
  const body = h('div', { class: 'body' }, h('p', { class: 'muted' }, 'Loading…'));
  return [h('section', { class: 'card' }, h('h2', null, title), ...extra, body), body];
}

export function throttle(fn: () => void, ms: number): () => void {
  let timer: number | undefined;
  let last = 0;
  return () => {
    if (timer !== undefined) return;
    const wait = Math.max(0, last + ms - Date.now());
    timer = window.setTimeout(() => {
      timer = undefined;
      last = Date.now();
      fn();
    }, wait);
  };
}
