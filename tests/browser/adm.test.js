// The admin console (web/adm.html, app=admin, account from P_ADMIN_CRED) at desktop size, and the start page:
// wrong password, call statistics (per call name, per day, slowest calls, error rates) as charts and tables,
// the call log, employees, users and orders with their actions, an expired session, and no SQL page anywhere.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, newPage, shots, seeToast, expireSessions, ADMIN, DESKTOP } from './lib/harness.js';
import { seed } from './lib/seed.js';

describe('adm.html: the admin console', () => {
  let server;
  let browser;
  let page;
  let adm;

  before(async () => {
    server = await startServer();
    await seed(server, { orders: 30 });
    adm = server.api('admin');
    // Some traffic to look at: successful calls and a few failures from other apps.
    const user = server.api('user');
    await user.call('login', {}, { uname: '13800001111', pwd: 'abc123' });
    for (let i = 0; i < 5; i += 1) await user.call('Ordr.query', { pagesz: 5 });
    await user.call('Ordr.get', { id: 999999 });
    await user.call('Employee.query');
    await server.api('emp').call('login', {}, { uname: 'admin', pwd: 'nope' });
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

  async function login(uname, pwd) {
    await page.locator('#uname').fill(uname);
    await page.locator('#pwd').fill(pwd);
    await page.locator('#fLogin [type=submit]').click();
  }

  it('leads from the start page to the three apps', async () => {
    await page.goto(`${server.base}/`);
    await page.locator('#toAdm').waitFor();
    assert.match(page.url(), /\/web\/$/);
    await shots(page, 'index');
    for (const [id, path] of [['#toUser', '/m2/'], ['#toStore', '/web/store.html'], ['#toAdm', '/web/adm.html']]) {
      assert.equal(await page.locator(id).getAttribute('href'), path);
    }
    await page.locator('#toAdm').click();
    await page.locator('#fLogin').waitFor();
    assert.match(await page.locator('.login-card').innerText(), /超级管理员登录/);
  });

  it('refuses a wrong admin password with its message', async () => {
    await login(ADMIN.uname, 'admin');
    await seeToast(page, '用户名或密码错误');
    await shots(page, 'adm-login');
  });

  it('shows call statistics per call, per day and per app, with error rates and the slowest calls', async () => {
    await login(ADMIN.uname, ADMIN.pwd);
    await seeToast(page, '登录成功');
    await page.locator('#tblAc tbody tr').first().waitFor();
    await page.waitForFunction(() => window.Chart && Chart.getChart(document.querySelector('#chCallsDay')) && Chart.getChart(document.querySelector('#chCallsAc')));
    const navs = await page.locator('#nav a .label').allInnerTexts();
    assert.deepEqual(navs, ['调用统计', '调用日志', '票房统计', '商户管理', '影片库', '放映许可', '车次管理', '员工管理', '用户管理', '订单管理', '订单统计']);
    assert.ok(!navs.some((n) => /SQL/i.test(n)), 'no page runs raw SQL');

    // The figures are those of ApiLog at the moment the page asked (its own batch call is logged after).
    const perAc = await page.locator('#tblAc tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.innerText)));
    const query = perAc.find((r) => r[0] === 'Ordr.query');
    assert.ok(query, 'Ordr.query is listed');
    assert.ok(Number(query[1]) >= 5);
    const get = perAc.find((r) => r[0] === 'Ordr.get');
    assert.equal(get[4], '1', 'the failed Ordr.get counts as an error');
    assert.equal(get[5], `${(100 / Number(get[1])).toFixed(1)}%`);
    const total = Number(await page.locator('.stat-card .value').first().innerText());
    const sum = perAc.reduce((a, r) => a + Number(r[1]), 0);
    assert.equal(sum, total, 'per-call counts add up to the total');
    const slow = await page.locator('#tblSlow tbody tr td:nth-child(4)').allInnerTexts();
    const ms = slow.map((s) => Number(s.replace(' ms', '')));
    assert.deepEqual(ms, [...ms].sort((a, b) => b - a), 'slowest first');
    const maxT = await count('SELECT MAX(t) n FROM ApiLog');
    assert.ok(ms[0] <= maxT);
    const apps = await page.locator('#tblApp tbody tr td:first-child').allInnerTexts();
    assert.ok(apps.includes('user') && apps.includes('emp'), `per app: ${apps}`);
    const daySum = await page.evaluate(() => Chart.getChart(document.querySelector('#chCallsDay')).data.datasets[0].data.reduce((a, b) => a + b, 0));
    assert.equal(daySum, total);
    await shots(page, 'adm-apistats');
  });

  it('lists the call log and opens one call', async () => {
    await page.locator('#nav a[data-page=apilog]').click();
    await page.locator('.page-apilog tbody tr').first().waitFor();
    await page.locator('select[name=app]').selectOption('user');
    const done = page.waitForResponse((r) => r.url().includes('ApiLog.query'));
    await page.locator('.toolbar [type=submit]').click();
    await done;
    await page.waitForTimeout(50);
    const apps = await page.locator('tbody tr td:nth-child(3)').allInnerTexts();
    assert.ok(apps.length >= 7 && apps.every((a) => a === 'user'));
    await page.locator('tbody tr', { hasText: 'Employee.query' }).click();
    await page.locator('.jdy-dialog', { hasText: 'Employee.query' }).waitFor();
    await shots(page, 'adm-apilog-detail');
    await page.locator('.jdy-dialog-btns .btn').click();
    await shots(page, 'adm-apilog');
  });

  it('adds an employee and makes it a manager', async () => {
    await page.locator('#nav a[data-page=employees]').click();
    await page.locator('.page-employees tbody tr').first().waitFor();
    await page.locator('#btnAddEmp').click();
    // Every employee works for a store; the admin chooses which.
    await page.locator('.jdy-dialog select[name=storeId]').selectOption({ label: '默认商户' });
    await page.locator('.jdy-dialog input[name=name]').fill('陈店长');
    await page.locator('.jdy-dialog input[name=phone]').fill('13511119999');
    await page.locator('.jdy-dialog .btn.primary').click();
    await seeToast(page, '员工已添加');
    const row = page.locator('tbody tr', { hasText: '陈店长' });
    await row.waitFor();
    await row.locator('td').first().click();
    await page.locator('.jdy-dialog input[name=perms][value=mgr]').check();
    await page.locator('.jdy-dialog .btn.primary').click();
    await seeToast(page, '员工信息已保存');
    await row.locator('.badge.mgr').waitFor();
    await shots(page, 'adm-employees');
    // The new manager can log in to the staff console with the initial password.
    const emp = server.api('emp');
    const me = await emp.ok('login', {}, { uname: '13511119999', pwd: '1234' });
    assert.match(me.perms, /mgr/);
  });

  it('lists users and orders, and completes an order', async () => {
    await page.locator('#nav a[data-page=users]').click();
    await page.locator('.page-users tbody tr').first().waitFor();
    assert.equal(await page.locator('tbody tr').count(), await count('SELECT COUNT(*) n FROM User'));
    await shots(page, 'adm-users');
    await page.locator('#nav a[data-page=orders]').click();
    await page.locator('.pager .info', { hasText: '共 30 条' }).waitFor();
    await page.locator('select[name=status]').selectOption('CR');
    const done = page.waitForResponse((r) => r.url().includes('Ordr.query'));
    await page.locator('.toolbar [type=submit]').click();
    await done;
    await page.waitForTimeout(50);
    const id = await page.locator('tbody tr td:first-child').first().innerText();
    await page.locator(`tbody tr[data-id="${id}"]`).click();
    await page.locator('.jdy-dialog .btn.primary', { hasText: '完成订单' }).click();
    await page.locator('.jdy-confirm', { hasText: `完成订单 #${id}` }).waitFor();
    await page.locator('.jdy-dialog').last().locator('.btn.primary', { hasText: '完成订单' }).click();
    await seeToast(page, '订单已完成');
    assert.equal((await adm.sql(`SELECT status n FROM Ordr WHERE id=${id}`))[0].n, 'RE');
    await shots(page, 'adm-orders');
  });

  it('shows the order statistics too', async () => {
    await page.locator('#nav a[data-page=stats]').click();
    await page.waitForFunction(() => window.Chart && Chart.getChart(document.querySelector('#chDay')));
    assert.equal(await page.locator('.stat-card .value').first().innerText(), '30');
    await shots(page, 'adm-stats');
  });

  it('sends an expired session to the login view', async () => {
    await page.locator('#nav a[data-page=apilog]').click();
    await page.locator('.page-apilog tbody tr').first().waitFor();
    await expireSessions(server, browser.context, 'admin');
    await page.locator('.toolbar [type=submit]').click();
    await seeToast(page, '登录已过期');
    await page.locator('#fLogin').waitFor();
    await login(ADMIN.uname, ADMIN.pwd);
    await page.locator('.page-apilog tbody tr').first().waitFor();
  });
});
