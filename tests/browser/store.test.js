// The staff console (web/store.html, app=emp) at desktop size: log in (wrong password first), work the orders
// table (filter, sort, page, quick search, export CSV/Excel), complete and cancel orders from their detail,
// manage users, employees (manager only) and settings, read the call log, look at the statistics chart, lose
// the session and come back, and, as an ordinary employee, be refused the manager's pages.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, newPage, shots, seeToast, expireSessions, makePng, DESKTOP } from './lib/harness.js';
import { seed, EMP, MGR, USERS } from './lib/seed.js';

describe('store.html: the staff console', () => {
  let server;
  let browser;
  let page;
  let adm;

  before(async () => {
    server = await startServer();
    await seed(server, { orders: 45 });
    adm = server.api('admin');
    browser = await launch();
    page = await newPage(browser.context);
    await page.setViewportSize(DESKTOP);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  afterEach(() => {
    assert.deepEqual(page.problems, [], 'no script errors or unexpected alerts');
  });

  const count = async (sql) => (await adm.sql(sql))[0].n;
  const pagerText = () => page.locator('.pager .info').innerText();
  const rowsText = (col) => page.locator(`tbody tr td:nth-child(${col})`).allInnerTexts();

  async function login(uname, pwd) {
    await page.locator('#uname').fill(uname);
    await page.locator('#pwd').fill(pwd);
    await page.locator('#fLogin [type=submit]').click();
  }

  /** Clicks 查询 and waits for the table's reply. */
  async function query() {
    const done = page.waitForResponse((r) => r.url().includes('.query?'));
    await page.locator('.toolbar [type=submit]').click();
    await done;
    await page.waitForTimeout(50);
  }

  it('refuses a wrong password with its message', async () => {
    await page.goto(`${server.base}/web/store.html`);
    await page.locator('#fLogin').waitFor();
    await shots(page, 'store-login');
    await login(MGR.uname, 'wrong');
    await seeToast(page, '用户名或密码错误');
    assert.ok(await page.locator('#fLogin').isVisible());
  });

  it('logs a manager in and shows the first page of orders with the total', async () => {
    await login(MGR.uname, MGR.pwd);
    await seeToast(page, '登录成功');
    await page.locator('tbody tr').first().waitFor();
    assert.equal(await page.locator('tbody tr').count(), 20);
    assert.equal(await pagerText(), '共 45 条, 第 1 / 3 页');
    assert.equal(await page.locator('#meName').innerText(), '管理员');
    assert.deepEqual(await page.locator('#nav a .label').allInnerTexts(), ['订单管理', '检票', '订单统计', '票房统计', '演出管理', '场次管理', '场馆管理', '影厅座位', '放映许可', '车次管理', '用户管理', '员工管理', '系统配置', '调用日志']);
    await shots(page, 'store-orders');
  });

  it('filters orders by status, amount and user phone into cond', async () => {
    await page.locator('select[name=status]').selectOption('CA');
    await query();
    const ca = await count("SELECT COUNT(*) n FROM Ordr WHERE status='CA'");
    assert.equal(await pagerText(), `共 ${ca} 条, 第 1 / 1 页`);
    assert.ok((await rowsText(7)).every((s) => s === '已取消'));

    await page.locator('input[name=amin]').fill('100');
    await page.locator('input[name=userPhone]').fill('1390000');
    await query();
    const n = await count("SELECT COUNT(*) n FROM Ordr o JOIN User u ON u.id=o.userId WHERE status='CA' AND amount>=100 AND u.phone LIKE '%1390000%'");
    assert.match(await pagerText(), new RegExp(`^共 ${n} 条`));
    for (const p of await rowsText(4)) assert.equal(p, '13900002222');

    const reset = page.waitForResponse((r) => r.url().includes('Ordr.query'));
    await page.locator('.toolbar [type=reset]').click();
    await reset;
    await page.locator('.pager .info', { hasText: '共 45 条' }).waitFor();
  });

  it('filters orders by date', async () => {
    const today = await page.evaluate(() => {
      const d = new Date();
      return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    });
    await page.locator('input[name=from]').fill(today);
    await page.locator('input[name=to]').fill(today);
    await query();
    const n = await count(`SELECT COUNT(*) n FROM Ordr WHERE createTm>='${today}' AND createTm<date('${today}','+1 day')`);
    assert.match(await pagerText(), new RegExp(`^共 ${n} 条`));
    await page.locator('.toolbar [type=reset]').click();
    await page.locator('.pager .info', { hasText: '共 45 条' }).waitFor();
  });

  it('sorts by a column when its header is clicked, ascending then descending', async () => {
    const money = async () => (await rowsText(6)).map((s) => Number(s.replace(/[¥,]/g, '')));
    let done = page.waitForResponse((r) => r.url().includes('orderby=amount+asc'));
    await page.locator('th[data-sort=amount]').click();
    await done;
    await page.locator('th[data-sort=amount] .arrow', { hasText: '↑' }).waitFor();
    let a = await money();
    assert.deepEqual(a, [...a].sort((x, y) => x - y));
    done = page.waitForResponse((r) => r.url().includes('orderby=amount+desc'));
    await page.locator('th[data-sort=amount]').click();
    await done;
    await page.locator('th[data-sort=amount] .arrow', { hasText: '↓' }).waitFor();
    a = await money();
    assert.deepEqual(a, [...a].sort((x, y) => y - x));
    const max = (await adm.sql('SELECT MAX(amount) n FROM Ordr'))[0].n;
    assert.equal(a[0], Number(max));
  });

  it('pages through the orders', async () => {
    const first = await rowsText(1);
    await page.locator('.pager [data-page="2"]').click();
    await page.locator('.pager .info', { hasText: '第 2 / 3 页' }).waitFor();
    const second = await rowsText(1);
    assert.equal(second.length, 20);
    assert.ok(second.every((id) => !first.includes(id)), 'no row twice');
    await page.locator('.pager [data-page="3"]').click();
    await page.locator('.pager .info', { hasText: '第 3 / 3 页' }).waitFor();
    assert.equal(await page.locator('tbody tr').count(), 5);
    assert.ok(await page.locator('.pager [data-page="4"]').isDisabled(), 'no next page after the last');
  });

  it('searches orders with the quick search box (q)', async () => {
    await page.locator('input[name=q]').fill('13900002222');
    await query();
    const n = await count('SELECT COUNT(*) n FROM Ordr WHERE userId=2');
    assert.match(await pagerText(), new RegExp(`^共 ${n} 条`));
    assert.ok((await rowsText(3)).every((s) => s === '李四'));
    await page.locator('input[name=q]').fill('12');
    await query();
    assert.ok((await rowsText(1)).includes('12'), 'an order number finds that order');
    await page.locator('input[name=q]').fill('没有这样的订单');
    await query();
    await page.locator('.grid-msg .empty', { hasText: '没有符合条件的订单' }).waitFor();
    await shots(page, 'store-orders-empty');
    await page.locator('input[name=q]').fill('');
    await query();
  });

  it('exports the filtered orders as CSV and Excel files', async () => {
    await page.locator('select[name=status]').selectOption('RE');
    await query();
    const re = await count("SELECT COUNT(*) n FROM Ordr WHERE status='RE'");
    const csvLink = page.locator('[data-export=csv]');
    const href = await csvLink.getAttribute('href');
    assert.match(href, /fmt=csv/);
    assert.match(decodeURIComponent(href), /cond=status='RE'/);
    const [download] = await Promise.all([page.waitForEvent('download'), csvLink.click()]);
    assert.match(download.suggestedFilename(), /\.csv$/);
    const csv = (await page.request.get(`${server.base}${href}`));
    assert.match(csv.headers()['content-type'], /csv/);
    const lines = (await csv.text()).trim().split('\n');
    assert.equal(lines[0], '订单号,下单时间,用户,手机号,服务内容,金额,状态');
    assert.equal(lines.length, re + 1, 'every filtered order, not only the page shown');
    assert.ok(lines.slice(1).every((l) => l.endsWith(',已完成')));

    const xhref = await page.locator('[data-export=excel]').getAttribute('href');
    const xlsx = await page.request.get(`${server.base}${xhref}`);
    assert.equal(xlsx.status(), 200);
    const body = await xlsx.body();
    assert.equal(body.subarray(0, 2).toString(), 'PK', 'an .xlsx (zip) file');
    assert.match(xlsx.headers()['content-disposition'] || '', /xlsx/);
    await page.locator('.toolbar [type=reset]').click();
    await page.locator('.pager .info', { hasText: '共 45 条' }).waitFor();
  });

  it('completes a new order from its detail, and the timeline names the employee', async () => {
    await page.locator('select[name=status]').selectOption('CR');
    await query();
    const id = (await rowsText(1))[0];
    await page.locator(`tbody tr[data-id="${id}"]`).click();
    await page.locator('.jdy-dialog', { hasText: `订单 ${id}` }).waitFor();
    await shots(page, 'store-order-detail');
    await page.locator('.jdy-dialog .btn.primary', { hasText: '完成订单' }).click();
    // A status change asks first, naming the order.
    await page.locator('.jdy-confirm', { hasText: `完成订单 #${id} (` }).waitFor();
    await page.locator('.jdy-dialog').last().locator('.btn.primary', { hasText: '完成订单' }).click();
    await seeToast(page, '订单已完成');
    await page.locator('.jdy-dialog').waitFor({ state: 'detached' });
    assert.equal((await adm.sql(`SELECT status n FROM Ordr WHERE id=${id}`))[0].n, 'RE');
    await page.locator(`tbody tr[data-id="${id}"]`).waitFor({ state: 'detached' });
    // Open it again: no actions left but closing, and the log shows who did it.
    await page.locator('select[name=status]').selectOption('RE');
    await query();
    await page.locator(`tbody tr[data-id="${id}"]`).click();
    const dlg = page.locator('.jdy-dialog', { hasText: `订单 ${id}` });
    await dlg.waitFor();
    assert.match(await dlg.locator('.timeline li').last().innerText(), /已完成[\s\S]*处理人 管理员/);
    assert.deepEqual(await dlg.locator('.jdy-dialog-btns .btn').allInnerTexts(), ['关闭']);
    await dlg.locator('.jdy-dialog-btns .btn').click();
  });

  it('shows the pictures a user attached to an order', async () => {
    const user = server.api('user');
    await user.ok('login', {}, { uname: USERS[2].phone, pwd: USERS[2].pwd });
    const up = await user.upload(makePng(300, 200, [142, 78, 198]), 'broken-pipe.png');
    const id = await user.json('Ordr.add', {}, { dscr: '管道漏水, 见图', amount: 60, atts: [{ attId: up.id }] });
    await page.locator('.toolbar [type=reset]').click();
    await page.locator('.pager .info', { hasText: '共 46 条' }).waitFor();
    await page.locator(`tbody tr[data-id="${id}"]`).click();
    const dlg = page.locator('.jdy-dialog', { hasText: `订单 ${id}` });
    await dlg.locator('.atts img').waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll('.jdy-dialog .atts img')].every((i) => i.complete && i.naturalWidth > 0));
    await shots(page, 'store-order-pictures');
    await dlg.locator('.jdy-dialog-btns .btn', { hasText: '关闭' }).click();
    await dlg.waitFor({ state: 'detached' });
  });

  it('cancels a new order from its detail', async () => {
    await page.locator('select[name=status]').selectOption('CR');
    await query();
    const id = (await rowsText(1))[0];
    await page.locator(`tbody tr[data-id="${id}"]`).click();
    await page.locator('.jdy-dialog .btn.danger', { hasText: '取消订单' }).click();
    await page.locator('.jdy-confirm', { hasText: `取消订单 #${id} (` }).waitFor();
    await page.locator('.jdy-dialog').last().locator('.btn.danger', { hasText: '取消订单' }).click();
    await seeToast(page, '订单已取消');
    assert.equal((await adm.sql(`SELECT status n FROM Ordr WHERE id=${id}`))[0].n, 'CA');
  });

  it('adds and edits a user, and opens the orders of a user', async () => {
    await page.locator('#nav a[data-page=users]').click();
    await page.locator('.page-users tbody tr').first().waitFor();
    await shots(page, 'store-users');
    await page.locator('#btnAddUser').click();
    await page.locator('.jdy-dialog input[name=name]').fill('赵六');
    await page.locator('.jdy-dialog input[name=phone]').fill('13611112222');
    await page.locator('.jdy-dialog .btn.primary').click();
    await seeToast(page, '用户已添加');
    await page.locator('tbody tr', { hasText: '赵六' }).waitFor();
    await page.locator('tbody tr', { hasText: '赵六' }).click();
    await page.locator('.jdy-dialog input[name=name]').fill('赵六六');
    await page.locator('.jdy-dialog .btn.primary').click();
    await seeToast(page, '用户已保存');
    await page.locator('tbody tr', { hasText: '赵六六' }).waitFor();

    await page.locator('input[name=q]').fill('13900002222');
    await query();
    assert.equal(await page.locator('tbody tr').count(), 1);
    const n = await count('SELECT COUNT(*) n FROM Ordr WHERE userId=2');
    await page.locator('tbody tr a[href="#orders?userId=2"]').click();
    await page.locator('.pager .info', { hasText: `共 ${n} 条` }).waitFor();
    assert.equal(await page.locator('input[name=userId]').inputValue(), '2');
  });

  it('lets a manager add an employee with perms, change the perms and delete the employee', async () => {
    await page.locator('#nav a[data-page=employees]').click();
    await page.locator('.page-employees tbody tr').first().waitFor();
    await page.locator('#btnAddEmp').click();
    await page.locator('.jdy-dialog input[name=name]').fill('王经理');
    await page.locator('.jdy-dialog input[name=uname]').fill('wangjl');
    await page.locator('.jdy-dialog input[name=perms][value=mgr]').check();
    await page.locator('.jdy-dialog input[name=pwd]').fill('wang123');
    await shots(page, 'store-employee-add');
    await page.locator('.jdy-dialog .btn.primary').click();
    await seeToast(page, '员工已添加');
    const row = page.locator('tbody tr', { hasText: 'wangjl' });
    await row.waitFor();
    assert.equal(await row.locator('.badge.mgr').innerText(), '经理');
    assert.equal((await adm.sql("SELECT perms n FROM Employee WHERE uname='wangjl'"))[0].n, 'emp,mgr');
    await shots(page, 'store-employees');

    await row.locator('td').first().click();
    await page.locator('.jdy-dialog input[name=perms][value=mgr]').uncheck();
    await page.locator('.jdy-dialog .btn.primary').click();
    await seeToast(page, '员工信息已保存');
    await row.locator('.badge.mgr').waitFor({ state: 'detached' });
    assert.equal((await adm.sql("SELECT perms n FROM Employee WHERE uname='wangjl'"))[0].n, 'emp');

    await page.locator('tbody tr', { hasText: 'wangjl' }).locator('[data-del]').click();
    await page.locator('.jdy-dialog .btn.danger').click();
    await seeToast(page, '员工已删除');
    await page.locator('tbody tr', { hasText: 'wangjl' }).waitFor({ state: 'detached' });
  });

  it('adds, edits and deletes a setting (Cinf)', async () => {
    await page.locator('#nav a[data-page=cinf]').click();
    await page.locator('.grid-msg .empty, tbody tr').first().waitFor();
    await page.locator('#btnAddCinf').click();
    await page.locator('.jdy-dialog input[name=name]').fill('shopName');
    await page.locator('.jdy-dialog textarea[name=value]').fill('筋斗云旗舰店');
    await page.locator('.jdy-dialog .btn.primary').click();
    await seeToast(page, '配置已保存');
    const row = page.locator('tbody tr', { hasText: 'shopName' });
    await row.waitFor();
    assert.match(await row.innerText(), /筋斗云旗舰店/);
    await row.locator('td').first().click();
    assert.ok(await page.locator('.jdy-dialog input[name=name]').evaluate((i) => i.readOnly));
    await page.locator('.jdy-dialog textarea[name=value]').fill('筋斗云 · 二号店');
    await page.locator('.jdy-dialog .btn.primary').click();
    await seeToast(page, '配置已保存');
    await page.locator('tbody tr', { hasText: '二号店' }).waitFor();
    const value = await server.api('emp').call('Cinf.getValue', { name: 'shopName' });
    assert.equal(value[0], 2, 'a fresh client is not logged in');
    assert.equal((await adm.sql("SELECT value n FROM Cinf WHERE name='shopName'"))[0].n, '筋斗云 · 二号店');
    await shots(page, 'store-cinf');
    await page.locator('tbody tr', { hasText: 'shopName' }).locator('[data-del]').click();
    await page.locator('.jdy-dialog .btn.danger').click();
    await seeToast(page, '配置项已删除');
    await page.locator('tbody tr', { hasText: 'shopName' }).waitFor({ state: 'detached' });
  });

  it('shows the call log to a manager, filters errors and opens a call', async () => {
    await page.locator('#nav a[data-page=apilog]').click();
    await page.locator('.page-apilog tbody tr').first().waitFor();
    await shots(page, 'store-apilog');
    await page.locator('input[name=err]').check();
    await query();
    const codes = await rowsText(7);
    assert.ok(codes.length > 0, 'the wrong password above is in the log');
    assert.ok(codes.every((c) => c !== '0'));
    await page.locator('input[name=ac]').fill('login');
    await query();
    await page.locator('tbody tr').first().click();
    const dlg = page.locator('.jdy-dialog', { hasText: '调用' });
    await dlg.waitFor();
    assert.match(await dlg.locator('pre.code').first().innerText(), /uname/);
    assert.doesNotMatch(await dlg.locator('pre.code').first().innerText(), /wrong/, 'passwords are masked in the log');
    await shots(page, 'store-apilog-detail');
    await dlg.locator('.jdy-dialog-btns .btn').click();
  });

  it('draws the order statistics per day and per status', async () => {
    await page.locator('#nav a[data-page=stats]').click();
    await page.locator('.stat-card').first().waitFor();
    await page.waitForFunction(() => window.Chart && Chart.getChart(document.querySelector('#chDay')) && Chart.getChart(document.querySelector('#chStatus')));
    const total = await count('SELECT COUNT(*) n FROM Ordr');
    assert.equal(await page.locator('.stat-card .value').first().innerText(), String(total));
    const perStatus = await page.evaluate(() => Chart.getChart(document.querySelector('#chStatus')).data.datasets[0].data.reduce((a, b) => a + b, 0));
    assert.equal(perStatus, total);
    const perDay = await page.evaluate(() => Chart.getChart(document.querySelector('#chDay')).data.datasets[0].data.reduce((a, b) => a + b, 0));
    assert.equal(perDay, total, 'every order of the last 30 days is on the daily chart');
    assert.ok((await page.locator('#tblStatus tbody tr').count()) >= 3);
    await shots(page, 'store-stats');
    await page.locator('[data-days="7"]').click();
    await page.waitForTimeout(300);
    const week = await count("SELECT COUNT(*) n FROM Ordr WHERE createTm>=date('now','localtime','-6 days')");
    assert.equal(await page.locator('.stat-card .value').first().innerText(), String(week));
  });

  it('sends an expired session to the login view and returns to the same page after logging in', async () => {
    await page.locator('#nav a[data-page=users]').click();
    await page.locator('.page-users tbody tr').first().waitFor();
    await expireSessions(server, browser.context, 'emp');
    await page.locator('.toolbar [type=submit]').click();
    await seeToast(page, '登录已过期');
    await page.locator('#fLogin').waitFor();
    await login(MGR.uname, MGR.pwd);
    await page.locator('.page-users tbody tr').first().waitFor();
    assert.match(page.url(), /#users$/);
  });

  it('changes the password of the logged-in employee', async () => {
    await page.locator('#btnChpwd').click();
    await page.locator('.jdy-dialog input[name=oldpwd]').fill('bad');
    await page.locator('.jdy-dialog input[name=pwd]').fill('5678');
    await page.locator('.jdy-dialog input[name=pwd2]').fill('5678');
    await page.locator('.jdy-dialog .btn.primary').click();
    await seeToast(page, '密码验证失败');
    await page.locator('.jdy-dialog input[name=oldpwd]').fill(MGR.pwd);
    await page.locator('.jdy-dialog .btn.primary').click();
    await seeToast(page, '密码已修改');
    MGR.pwd = '5678';
  });

  it('refuses the manager pages to an ordinary employee', async () => {
    await page.locator('#btnLogout').click();
    await seeToast(page, '已退出登录');
    await login(EMP.uname, EMP.pwd);
    await page.locator('tbody tr').first().waitFor();
    assert.equal(await page.locator('#nav a[data-page=apilog]').count(), 0, 'no call-log menu');
    assert.match(await page.locator('.topbar .who').innerText(), /小李 · 员工/);

    // Employees: only oneself, no add button, no perms to edit.
    await page.locator('#nav a[data-page=employees]').click();
    // The page's own rows (the orders table of the page before may still be on screen for a moment).
    await page.locator('.page-employees tbody tr').first().waitFor();
    assert.equal(await page.locator('.page-employees tbody tr').count(), 1);
    assert.equal(await page.locator('#btnAddEmp').count(), 0);
    await page.locator('.page-employees tbody tr').click();
    assert.equal(await page.locator('.jdy-dialog input[name=perms]').count(), 0);
    assert.ok(await page.locator('.jdy-dialog input[name=phone]').evaluate((i) => i.readOnly));
    await page.locator('.jdy-dialog input[name=name]').fill('小李子');
    await page.locator('.jdy-dialog .btn.primary').click();
    await seeToast(page, '员工信息已保存');
    await shots(page, 'store-employees-self');

    // The call log by its address: the server refuses, the page says so.
    await page.goto(`${server.base}/web/store.html#apilog`);
    await seeToast(page, '禁止操作');
    await page.locator('.err-block', { hasText: '没有权限查看' }).waitFor();
    await shots(page, 'store-forbidden');
  });
});
