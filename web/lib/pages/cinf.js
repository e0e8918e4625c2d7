// pages/cinf.js: configuration items (Cinf), read and written by name with Cinf.getValue / Cinf.setValue.

import { callSvr, html, on, run, toast, formDialog, confirmDlg, lit } from '../jdy.js';
import { Grid } from '../grid.js';

export default {
  id: 'cinf',
  title: '系统配置',
  icon: '⚙',
  async render(el, ctx) {
    // Settings are the managers' (and the admin's); a clerk sees them read-only.
    const canEdit = ctx.isMgr;
    const edit = async (item) => {
      const ok = await formDialog({
        title: item ? `修改配置 ${item.name}` : '添加配置项',
        fields: [
          { name: 'name', label: '名称', value: item && item.name, required: true, readonly: !!item, pattern: '\\w+', hint: item ? '' : '字母、数字或下划线' },
          { name: 'value', label: '值', type: 'textarea', value: item && item.value, rows: 4, hint: '清空则保存为空值' },
        ],
        submit: (v) => callSvr('Cinf.setValue', { name: v.name }, { value: v.value }),
      });
      if (ok) {
        toast('配置已保存', 'ok');
        grid.load();
      }
    };
    const grid = new Grid(el, {
      ac: 'Cinf.query',
      res: 'id,name,value',
      orderby: 'name',
      q: false,
      filters: [{ name: 'name', label: '名称包含' }],
      cond: (v) => (v.name ? `name LIKE ${lit(`%${v.name}%`)}` : ''),
      columns: [
        { field: 'name', title: '名称', sort: true },
        { field: 'value', title: '值', cls: 'wrap mono' },
        ...(canEdit ? [{ field: '', title: '操作', fmt: (r) => html`<button class="btn small ghost" data-del="${r.id}" data-name="${r.name}">删除</button>` }] : []),
      ],
      emptyText: '还没有配置项',
      tools: canEdit ? [{ text: '+ 添加配置', kind: 'primary', id: 'btnAddCinf', onClick: () => edit(null) }] : [],
      onRow: canEdit ? (r) => edit(r) : undefined,
    });
    if (!canEdit) el.insertAdjacentHTML('afterbegin', String(html`<div class="note">只有经理可以修改系统配置。</div>`));
    on(el, 'click', '[data-del]', async (e, b) => {
      if (!(await confirmDlg(`删除配置项 ${b.dataset.name}? 删除后不可恢复。`, { title: '删除配置项', okText: '删除', danger: true }))) return;
      if ((await run(() => callSvr('Cinf.del', { id: b.dataset.del }), b)) !== undefined) {
        toast('配置项已删除', 'ok');
        grid.load();
      }
    });
    await grid.load(1);
  },
};
