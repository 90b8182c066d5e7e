// export.js — raw request export (admins): a streamed download.
import { exportUrl } from '../api.js';
import { h, isAdmin, state, rangeParams } from '../ui.js';
import { scopeText } from '../scope.js';

export async function render(root) {
  root.append(h('h2', null, 'Export'));
  if (!isAdmin()) {
    root.append(h('p.note', null, 'Only admins can export raw requests.'));
    return;
  }
  const fmt = h('select', { name: 'format' }, h('option', { value: 'csv' }, 'CSV'), h('option', { value: 'json' }, 'JSON'));
  const link = h('a.button', { id: 'export-link', download: '' }, 'Download');
  const update = () => {
    const p = rangeParams(0);
    p.format = fmt.value;
    link.href = exportUrl(p);
    link.setAttribute('download', `evodash-export.${fmt.value}`);
  };
  fmt.addEventListener('change', update);
  update();
  root.append(
    h(
      'div.tablecard.form',
      { 'data-state': 'drawn' },
      h('p', null, `Raw requests of the selected range (${state.from || 'the beginning'} to ${state.to || 'now'}, zone ${state.tz}${scopeText() ? ', ' + scopeText() : ''}), streamed by the server.`),
      h('label', null, 'Format ', fmt),
      ' ',
      link,
    ),
  );
}
