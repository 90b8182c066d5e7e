// login.js — the login form.
import { login } from '../api.js';
import { h, state } from '../ui.js';

export async function render(root, go) {
  const err = h('p.loginerr', { role: 'alert', hidden: true });
  const user = h('input', { name: 'username', autocomplete: 'username', required: true });
  const pw = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h(
    'form.login',
    {
      onsubmit: async (e) => {
        e.preventDefault();
        err.hidden = true;
        try {
          state.user = await login(user.value, pw.value);
          go(sessionStorage.getItem('evd.after') || '#/overview');
        } catch (x) {
          err.textContent = x.status === 401 ? 'Wrong user name or password.' : x.message;
          err.hidden = false;
        }
      },
    },
    h('h2', null, 'Log in to evodash'),
    h('label', null, 'User name', user),
    h('label', null, 'Password', pw),
    h('button', { type: 'submit' }, 'Log in'),
    err,
  );
  root.append(form);
  user.focus();
}
