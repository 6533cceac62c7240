// Contracts: the list, and one contract with its state, escrow and events
// (live).
import { Contract, ContractEvent, ContractEvents, ContractPage, enc, get, qs } from '../api';
import { clear, dl, h, json, link, mono, short, table } from '../dom';
import { Stream } from '../live';
import { failure, Route, Scope, section, throttle } from '../page';

export async function contracts(root: HTMLElement, route: Route, scope: Scope): Promise<void> {
  const token = route.query.get('page_token') ?? '';
  root.append(h('h1', null, 'Contracts'));
  const body = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  root.append(body);
  try {
    const page = await get<ContractPage>(`/v1/contracts${qs({ limit: 50, page_token: token })}`, scope.signal);
    clear(body,
      page.contracts.length === 0 ? h('p', null, 'No contract deployed yet.') :
        table(['Contract', 'Name', 'Status', 'Owner', 'Escrow', 'Events', 'Deployed'], page.contracts.map((c) => [
          link(`#/contract/${enc(c.id)}`, c.id), c.name, h('span', { class: `status ${c.status}` }, c.status), short(c.owner, 8),
          `${c.balance} ${c.token}`, String(c.events), link(`#/block/${c.deployed_height}`, String(c.deployed_height)),
        ])),
      h('nav', { class: 'pager' }, token ? h('a', { class: 'button', href: '#/contracts' }, '← First page') : null,
        page.next_page_token ? h('a', { class: 'button', href: `#/contracts${qs({ page_token: page.next_page_token })}` }, 'Next →') : null));
  } catch (e) {
    clear(body, failure(e));
  }
}

export async function contract(root: HTMLElement, route: Route, scope: Scope): Promise<void> {
  const id = route.path[1] ?? '';
  root.append(h('h1', null, `Contract ${id}`));
  const [stCard, stBody] = section('State and escrow');
  const [evCard, evBody] = section('Events');
  const [srcCard, srcBody] = section('Document');
  root.append(h('div', { class: 'grid2' }, stCard, srcCard), evCard);
  const state = async () => {
    try {
      const c = await get<Contract>(`/v1/contracts/${enc(id)}`, scope.signal);
      clear(stBody, dl([
        ['Name', c.name], ['Status', h('span', { class: `status ${c.status}` }, c.status)], ['Owner', mono(c.owner)],
        ['Escrow', `${c.balance} ${c.token}`], ['Deployed', link(`#/block/${c.deployed_height}`, `block ${c.deployed_height}`)],
        ['Stopped', c.stopped_height ? link(`#/block/${c.stopped_height}`, `block ${c.stopped_height}`) : '—'],
        ['Events', String(c.events)],
      ]), h('h3', null, 'State'), json(c.state));
      clear(srcBody, h('pre', { class: 'json' }, c.source));
    } catch (e) {
      if ((e as Error).name !== 'AbortError') clear(stBody, failure(e));
    }
  };
  await state();
  const events: ContractEvent[] = [];
  const render = () => clear(evBody, events.length === 0 ? h('p', { class: 'muted' }, 'No event yet.') :
    table(['#', 'Name', 'Trigger', 'Block', 'Tx', 'Fields'], events.slice().reverse().map((e) => [
      String(e.n), h('span', { class: e.name === 'failed' ? 'bad' : '' }, e.name), e.trigger, link(`#/block/${e.height}`, String(e.height)),
      e.tx < 0 ? 'end of block' : String(e.tx), mono(JSON.stringify(e.fields)),
    ])));
  let token = '';
  try {
    do {
      const page = await get<ContractEvents>(`/v1/contracts/${enc(id)}/events${qs({ limit: 1000, page_token: token })}`, scope.signal);
      events.push(...page.events);
      token = page.next_page_token ?? '';
    } while (token && events.length < 5000);
  } catch (e) {
    clear(evBody, failure(e));
    return;
  }
  render();
  const seen = new Set(events.map((e) => e.n));
  const stateSoon = throttle(() => void state(), 1000);
  const stream = new Stream({
    types: ['contract_event'],
    on: {
      contract_event: (e: ContractEvent) => {
        if (e.contract !== id || seen.has(e.n)) return;
        seen.add(e.n);
        events.push(e);
        render();
        stateSoon();
      },
    },
  });
  scope.onClose(() => stream.close());
}
