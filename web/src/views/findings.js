// findings.js — the findings panel (overview and endpoint page): one line
// per finding, most severe first, each a link to the view with its
// evidence; an admin confirms a rename candidate from here.
import { api } from '../api.js';
import { h, isAdmin, rangeParams, fmtTime } from '../ui.js';

export const KIND_LABEL = {
  regression: 'regression',
  improvement: 'improvement',
  error_rate: 'error rate',
  slow_group: 'slow group',
  dead_endpoint: 'dead endpoint',
  new_endpoint: 'new endpoint',
  rename_candidate: 'rename?',
  outlier_cause: 'outlier cause',
};

// The panel's box, filled when the findings arrive.  opts.endpoint: only
// that endpoint's; opts.reload: called after an admin action.
export function findingsPanel(opts = {}) {
  const box = h('section.findings', { 'data-state': 'loading', 'aria-label': 'findings' }, h('h3', null, 'Findings'), h('div.note', null, 'Computing findings…'));
  const params = { ...rangeParams(0) };
  if (opts.endpoint) params.endpoint = opts.endpoint;
  const done = api('api/findings', params)
    .then((d) => paint(box, d, opts))
    .catch((e) => {
      box.dataset.state = 'error';
      box.replaceChildren(h('h3', null, 'Findings'), h('p.note', null, 'Could not compute the findings: ' + e.message));
    });
  return { el: box, done };
}

function paint(box, d, opts) {
  const list = d.findings || [];
  const head = h(
    'h3',
    null,
    'Findings',
    h('span.sub', null, list.length ? ` ${list.length} · most severe first` : ''),
    d.stale ? h('span.sub', { title: 'new data arrived; being recomputed' }, ' · updating') : null,
    d.computed ? h('span.sub', null, ` · computed ${fmtTime(d.computed)}`) : null,
  );
  if (!list.length) {
    box.dataset.state = 'empty';
    box.replaceChildren(head, h('p.ok', null, opts.endpoint ? 'Nothing stands out for this endpoint.' : 'Nothing stands out: no regression, error spike, slow group or dead endpoint.'));
    return;
  }
  const items = list.map((f) =>
    h(
      'li',
      { class: 'sev-' + f.severity, 'data-kind': f.kind, 'data-endpoint': f.endpoint_id },
      h('span', { class: 'badge sev-' + f.severity, title: f.severity + ' severity' }, f.severity),
      h('span.kind', null, KIND_LABEL[f.kind] || f.kind),
      h('a.summary', { href: f.link, title: 'show the evidence' }, f.summary),
      f.kind === 'rename_candidate' && isAdmin() ? renameButton(f, opts) : null,
    ),
  );
  box.dataset.state = 'drawn';
  box.replaceChildren(head, h('ul.findinglist', null, items));
}

function renameButton(f, opts) {
  const b = h(
    'button.small',
    {
      type: 'button',
      'data-confirm-rename': f.from_endpoint_id,
      title: `Show ${f.from_endpoint} and ${f.endpoint} as one endpoint (can be undone)`,
      onclick: async () => {
        b.disabled = true;
        try {
          await api('api/renames', null, { method: 'POST', body: { from: f.from_endpoint_id, to: f.endpoint_id } });
          if (opts.reload) opts.reload();
        } catch (e) {
          b.disabled = false;
          b.textContent = 'failed: ' + e.message;
        }
      },
    },
    'Confirm rename',
  );
  return b;
}
