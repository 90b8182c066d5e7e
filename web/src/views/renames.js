// renames.js — endpoints shown as one (a rename an admin confirmed or
// declared): the list, undo, and a form to declare one by hand.
import { all, api } from '../api.js';
import { h, state, isAdmin, fmtTime, table } from '../ui.js';

export async function renamesSection(box, reload) {
  const [rn, eps] = await Promise.all([api('api/renames'), isAdmin() ? all('api/rules', { tz: state.tz }) : null]);
  const cols = [
    { key: 'from', label: 'Old name' },
    { key: 'to', label: 'Shown as' },
    { key: 'created_us', label: 'Since', render: (r) => fmtTime(new Date(r.created_us / 1000).toISOString()) },
  ];
  if (isAdmin())
    cols.push({
      key: 'undo',
      label: '',
      value: () => '',
      render: (r) =>
        h(
          'button.small',
          {
            type: 'button',
            'data-undo-rename': r.from_id,
            title: `show ${r.from} as an endpoint of its own again`,
            onclick: async (e) => {
              e.target.disabled = true;
              await api(`api/renames/${r.from_id}/undo`, null, { method: 'POST', body: {} });
              reload();
            },
          },
          'Undo',
        ),
    });
  const kids = [
    rn.items.length ? table(cols, rn.items, { filter: false }) : h('p.note', null, 'No endpoint has been renamed.'),
  ];
  if (eps) {
    const opts = (sel) => eps.items.map((e) => h('option', { value: e.id, selected: sel === e.id }, e.endpoint));
    const from = h('select', { 'aria-label': 'old endpoint', 'data-rename-from': '' }, opts());
    const to = h('select', { 'aria-label': 'new endpoint', 'data-rename-to': '' }, opts(eps.items[1] && eps.items[1].id));
    const msg = h('span.hint');
    kids.push(
      h(
        'form.renameform',
        {
          onsubmit: async (e) => {
            e.preventDefault();
            try {
              await api('api/renames', null, { method: 'POST', body: { from: Number(from.value), to: Number(to.value) } });
              reload();
            } catch (err) {
              msg.textContent = err.message;
            }
          },
        },
        'Declare a rename: ',
        from,
        ' is now ',
        to,
        ' ',
        h('button', { type: 'submit' }, 'Rename'),
        ' ',
        msg,
      ),
    );
  }
  box.replaceChildren(...kids);
  box.dataset.state = rn.items.length ? 'drawn' : 'empty';
}
