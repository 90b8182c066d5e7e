// rules.js — the monitoring rules; admins change a level with one click.
import { all } from '../api.js';
import { h, isAdmin, state, fmtTime, table, LEVELS } from '../ui.js';
import { levelControl } from './level.js';
import { dot } from './overview.js';
import { multiService } from '../scope.js';

export async function render(root) {
  root.append(h('h2', null, 'Rules and monitoring levels'));
  root.append(
    h(
      'p.hint',
      null,
      isAdmin() ? 'Click a level to change it; the agents pick it up from the store. ' : 'Read-only: log in as an admin to change levels. ',
      LEVELS.join(' · '),
    ),
  );
  const box = h('div.tablecard', { 'data-state': 'loading' }, h('div.note', null, 'Loading rules…'));
  root.append(box);
  try {
    const d = await all('api/rules', { tz: state.tz });
    const cols = [
      { key: 'endpoint', label: 'Endpoint', render: (r) => h('a', { href: `#/endpoint/${r.id}` }, dot(r.colour), r.endpoint) },
      ...(multiService() && !state.service ? [{ key: 'service', label: 'Service' }] : []),
      { key: 'rule', label: 'Rule' },
      { key: 'methods', label: 'Methods' },
      { key: 'last_access', label: 'Last access', render: (r) => fmtTime(r.last_access) },
      { key: 'level', label: 'Level', num: true, render: (r) => levelControl({ ...r, name: r.endpoint }, (nr) => (r.level = nr.level)) },
    ];
    box.replaceChildren(table(cols, d.items, { sort: 'endpoint', desc: false, cls: 'rules', rowAttrs: (r) => ({ 'data-endpoint': r.id }) }));
    box.dataset.state = d.items.length ? 'drawn' : 'empty';
  } catch (e) {
    box.dataset.state = 'error';
    box.replaceChildren(h('p.note', null, 'Could not load: ' + e.message));
    throw e;
  }
}
