// Live updates from GET /v1/events (server-sent events). A Stream keeps
// the id of the last event it saw; when the node goes away the page says
// so, and when it returns the stream resumes after that id: the browser's
// EventSource sends Last-Event-ID itself while it retries, and where it
// gives up (an answer that is not a stream) a new one is opened with
// ?last_event_id=. No reload, no event missed or repeated.
import { qs } from './api';

export type Conn = 'connecting' | 'live' | 'unreachable';

const streams = new Set<Stream>();
const watchers = new Set<(c: Conn, last?: string) => void>();
let statusDown = false;

// watchConn calls fn whenever the page's connection to the node changes.
export function watchConn(fn: (c: Conn, last?: string) => void): void {
  watchers.add(fn);
  notify();
}

// setStatusDown records whether the status poll reaches the node.
export function setStatusDown(down: boolean): void {
  if (down !== statusDown) {
    statusDown = down;
    notify();
  }
}

function notify(): void {
  let c: Conn = 'live';
  let last: string | undefined;
  for (const s of streams) {
    if (s.state === 'unreachable') c = 'unreachable';
    else if (s.state === 'connecting' && c === 'live') c = 'connecting';
    last = s.last ?? last;
  }
  if (statusDown) c = 'unreachable';
  for (const fn of watchers) fn(c, last);
}

export interface StreamOptions {
  types: string[];
  device?: string;
  // Begin after this event id (`<height>-<n>`; `<height>-0` is the place
  // before block height's events): the node replays from there.
  after?: string;
  on: Record<string, (data: any, id: string) => void>;
  // The id is older than the node replays (410): the stream goes on from
  // now, and the page should read what it missed.
  onExpired?: () => void;
}

export class Stream {
  state: Conn = 'connecting';
  last?: string;
  private es?: EventSource;
  private closed = false;
  private timer?: number;
  private delay = 500;

  constructor(private opts: StreamOptions) {
    this.last = opts.after;
    streams.add(this);
    this.open();
  }

  private url(): string {
    return `/v1/events${qs({ types: this.opts.types.join(','), device: this.opts.device, last_event_id: this.last })}`;
  }

  private set(state: Conn): void {
    this.state = state;
    notify();
  }

  private open(): void {
    if (this.closed) return;
    const es = new EventSource(this.url());
    this.es = es;
    es.onopen = () => {
      this.delay = 500;
      this.set('live');
    };
    for (const [type, fn] of Object.entries(this.opts.on)) {
      es.addEventListener(type, (ev) => {
        const m = ev as MessageEvent<string>;
        if (m.lastEventId) this.last = m.lastEventId;
        let data: unknown;
        try {
          data = JSON.parse(m.data);
        } catch {
          return;
        }
        fn(data, m.lastEventId);
      });
    }
    es.onerror = () => {
      this.set('unreachable');
      if (es.readyState === EventSource.CLOSED) {
        es.close();
        this.retry();
      }
    };
  }

  // retry opens a new EventSource once the node answers again. It asks
  // first, to tell an expired id (410) from a node still away.
  private retry(): void {
    if (this.closed) return;
    this.timer = window.setTimeout(async () => {
      const ctl = new AbortController();
      try {
        const resp = await fetch(this.url(), { signal: ctl.signal, headers: { Accept: 'text/event-stream' } });
        ctl.abort();
        if (resp.status === 410 || resp.status === 400) {
          this.last = undefined;
          this.opts.onExpired?.();
        } else if (!resp.ok) {
          throw new Error(String(resp.status));
        }
        this.open();
      } catch {
        this.delay = Math.min(this.delay * 2, 5000);
        this.retry();
      }
    }, this.delay);
  }

  close(): void {
    this.closed = true;
    window.clearTimeout(this.timer);
    this.es?.close();
    streams.delete(this);
    notify();
  }
}
