// counters.js — the store (backend, size, oldest raw row, retention), the
// recording counters (dropped records shown prominently) and the
// instances, whose boxes narrow every view to some of them.
import { all } from '../api.js';
import { h, state, fmtInt, fmtTime, fmtBytes } from '../ui.js';
import { instanceTable, pickNote } from '../scope.js';

const KEYS = ['recorded', 'written', 'dropped', 'write_errors', 'truncated', 'outliers'];
const bad = (k) => k === 'dropped' || k === 'write_errors';

export async function render(root) {
  root.append(h('h2', null, 'Counters and instances'));
  const box = h('div.tablecard', { 'data-state': 'loading' }, h('div.note', null, 'Loading counters…'));
  root.append(box);
  let d, inst;
  try {
    // the counters of the view; the instances to pick from: all of them
    [d, inst] = await Promise.all([all('api/counters', { tz: state.tz }), all('api/instances', { tz: state.tz, instance: '' })]);
  } catch (e) {
    box.dataset.state = 'error';
    box.replaceChildren(h('p.note', null, 'Could not load: ' + e.message));
    throw e;
  }
  const t = d.totals;
  const kids = [];
  if (d.store) kids.push(storeFacts(d.store));
  if (t.dropped || t.endpoint_dropped)
    kids.push(
      h(
        'div.alert',
        { role: 'alert', 'data-dropped': t.dropped },
        `${fmtInt(t.dropped)} records were dropped`,
        t.endpoint_dropped ? ` (${fmtInt(t.endpoint_dropped)} counted per endpoint)` : '',
        ' — the agents could not keep up with the traffic or the store.',
      ),
    );
  const n = state.instances.length;
  kids.push(
    h('h3', null, 'Counters ', h('span.sub', { 'data-counters-of': n || 'all' }, n ? `of the ${n} picked instance${n === 1 ? '' : 's'}` : `of all ${inst.items.length} instance${inst.items.length === 1 ? '' : 's'}`)),
    h(
      'div.totals',
      null,
      KEYS.map((k) => h('div.total', { class: bad(k) && t[k] ? 'total bad' : 'total', 'data-total': k }, h('b', null, fmtInt(t[k])), h('span', null, k.replace('_', ' ')))),
    ),
    h('h3', null, 'Instances'),
    pickNote(inst.items),
    instanceTable(inst.items, {
      extra: KEYS.map((k) => ({
        key: k,
        label: k.replace('_', ' '),
        num: true,
        render: (r) => h('span', { class: bad(k) && r[k] ? 'bad' : null }, fmtInt(r[k])),
      })),
    }),
  );
  box.replaceChildren(...kids);
  box.dataset.state = 'drawn';
}

// The store every service writes: backend, size, oldest raw row, retention.
function storeFacts(s) {
  const fact = (key, label, value, title) => h('div.fact', { 'data-store': key, title: title || null }, h('span', null, label), h('b', null, value));
  return h(
    'div.store',
    null,
    h('h3', null, 'Store'),
    h(
      'div.facts',
      null,
      fact('backend', 'Backend', s.backend || '–'),
      fact('bytes', 'Size', fmtBytes(s.bytes), s.bytes === undefined ? null : `${fmtInt(s.bytes)} bytes`),
      fact('oldest_raw', 'Oldest raw request kept', s.oldest_raw ? fmtTime(s.oldest_raw) : 'none stored'),
      fact(
        'retention',
        'Retention',
        s.retention_days ? `${fmtInt(s.retention_days)} day${s.retention_days === 1 ? '' : 's'}` : 'keep everything',
        s.retention_days ? 'raw requests, outliers and profiles older than this are pruned; hourly rollups are kept' : 'RETENTION_DAYS is not set: nothing is pruned',
      ),
    ),
  );
}
