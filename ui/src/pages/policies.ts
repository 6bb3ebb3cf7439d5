/** Policies: the list with delete buttons, and a form to add or replace one (policymaker or administrator). */
import type { VhostInfo } from '../api.js';
import { api, enc, get } from '../api.js';
import { app } from '../app.js';
import { field, fill, h, onSubmit, select, statusLine, table } from '../dom.js';
import { parseJson } from './queues.js';

interface PolicyInfo {
  vhost: string;
  name: string;
  pattern: string;
  'apply-to': string;
  priority: number;
  definition: Record<string, unknown>;
}

export function policiesPage(root: HTMLElement): { refresh(): Promise<void> } {
  const list = h('div');
  const vhostSelect = select('vhost', ['/']);
  const name = h('input', { name: 'name', required: true, autocomplete: 'off' });
  const pattern = h('input', { name: 'pattern', required: true, placeholder: '^jobs\\.', autocomplete: 'off' });
  const applyTo = select('apply-to', [['queues', 'Queues'], ['exchanges', 'Exchanges'], ['all', 'Queues and exchanges']]);
  const priority = h('input', { type: 'number', name: 'priority', value: 0 });
  const definition = h('textarea', { name: 'definition', rows: 3, required: true, placeholder: '{"max-length": 10000, "dead-letter-exchange": "dlx"}' });
  const status = statusLine();
  const form = h('form', { class: 'card form', 'aria-labelledby': 'add-policy-title' },
    h('h2', { id: 'add-policy-title' }, 'Add or replace a policy'),
    h('div', { class: 'form-row' }, field('Virtual host', vhostSelect), field('Name', name), field('Pattern (regular expression)', pattern)),
    h('div', { class: 'form-row' }, field('Apply to', applyTo), field('Priority', priority)),
    field('Definition (JSON)', definition, 'RabbitMQ\'s keys: message-ttl, expires, max-length, max-length-bytes, overflow, dead-letter-exchange, …'),
    h('button', { type: 'submit', class: 'primary' }, 'Save policy'), status.el);
  onSubmit(form, status, async () => {
    await api('PUT', `/api/policies/${enc(vhostSelect.value)}/${enc(name.value)}`, {
      pattern: pattern.value, 'apply-to': applyTo.value, priority: Number(priority.value),
      definition: parseJson(definition.value, 'Definition'),
    });
    app.refresh();
    return `Policy ${name.value} saved.`;
  });
  root.append(h('h1', null, 'Policies'), list, form);

  let vhostsLoaded = false;
  return {
    async refresh() {
      const policies = await get<PolicyInfo[]>('/api/policies');
      fill(list, table([
        { label: 'Virtual host', cell: (p) => p.vhost },
        { label: 'Name', cell: (p) => p.name },
        { label: 'Pattern', cell: (p) => h('span', { class: 'mono' }, p.pattern) },
        { label: 'Apply to', cell: (p) => p['apply-to'] },
        { label: 'Priority', cell: (p) => p.priority, num: true },
        { label: 'Definition', cell: (p) => h('span', { class: 'mono' }, JSON.stringify(p.definition)) },
        { label: 'Actions', cell: (p) => h('button', { type: 'button', class: 'danger small', 'aria-label': `Delete policy ${p.name}`, onclick: () => remove(p) }, 'Delete') },
      ], policies, 'Policies', 'No policies.'));
      if (!vhostsLoaded) {
        fill(vhostSelect, (await get<VhostInfo[]>('/api/vhosts')).map((v) => h('option', { value: v.name }, v.name)));
        vhostsLoaded = true;
      }
    },
  };
}

function remove(p: PolicyInfo): void {
  if (!window.confirm(`Delete policy ${p.name} in ${p.vhost}?`)) return;
  api('DELETE', `/api/policies/${enc(p.vhost)}/${enc(p.name)}`).then(() => app.refresh(), (err: unknown) => app.error(err));
}
