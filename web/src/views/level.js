// level.js — the monitoring-level control: four buttons for admins (one
// click changes the level), plain text for guests.
import { setLevel } from '../api.js';
import { h, isAdmin, LEVELS, showError } from '../ui.js';

export function levelControl(row, onChange) {
  if (!isAdmin()) return h('span.level', { 'data-level': row.level }, LEVELS[row.level] || row.level);
  const group = h('span.levels', { role: 'group', 'aria-label': `monitoring level of ${row.name || row.endpoint}` });
  const paint = () =>
    group.querySelectorAll('button').forEach((b) => {
      const on = Number(b.dataset.level) === row.level;
      b.classList.toggle('on', on);
      b.setAttribute('aria-pressed', on ? 'true' : 'false');
    });
  for (let l = 0; l <= 3; l++)
    group.append(
      h(
        'button.level-btn',
        {
          type: 'button',
          'data-level': l,
          'data-endpoint': row.id,
          title: LEVELS[l],
          onclick: async () => {
            const old = row.level;
            row.level = l;
            paint();
            try {
              const r = await setLevel(row.id, l);
              row.level = r.level;
              paint();
              if (onChange) onChange(row);
            } catch (e) {
              row.level = old;
              paint();
              showError(e.message);
            }
          },
        },
        String(l),
      ),
    );
  paint();
  return group;
}
