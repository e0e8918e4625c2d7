// What a new user tripped over (issue 10), each reproduced the way it happened: a slow phone network, a page
// size that divides the rows exactly, a clerk's session, a wrong URL. Every test failed on the code before
// the fix.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, newPage, shots, seeToast, PHONE, DESKTOP } from './lib/harness.js';
import { seed, USERS, EMP, MGR } from './lib/seed.js';

describe('first use: what a new user tripped over', () => {
  let server;
  let browser;
  let page;
  let adm;
  const zhang = USERS[0];
  const count = async (sql) => (await adm.sql(sql))[0].n;

  before(async () => {
    server = await startServer();
    // Exactly 20 orders: one full page of the consoles' grid.
    await seed(server, { orders: 20 });
    adm = server.api('admin');
    browser = await launch();
    page = await newPage(browser.context);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  afterEach(() => {
    assert.deepEqual(page.problems, [], 'no script errors or unexpected alerts');
  });

  async function m2Login(uname, pwd) {
    await page.goto(`${server.base}/m2/#login`);
    await page.locator('.tabs [data-mode=pwd]').click();
    await page.locator('#fPwd [name=uname]').fill(uname);
    await page.locator('#fPwd [name=pwd]').fill(pwd);
    await page.locator('#fPwd [type=submit]').click();
    await page.locator('.hero').waitFor();
  }

  async function consoleLogin(uname, pwd) {
    await page.goto(`${server.base}/web/store.html`);
    await page.locator('#fLogin').waitFor();
    await page.locator('#uname').fill(uname);
    await page.locator('#pwd').fill(pwd);
    await page.locator('#fLogin [type=submit]').click();
    await page.locator('#nav').waitFor();
  }

  async function consoleLogout() {
    await page.locator('#btnLogout').click();
    await page.locator('#fLogin').waitFor();
  }

  it('a first visit makes no failing "who am I" call (the call statistics stay honest)', async () => {
    await page.setViewportSize(PHONE);
    await page.goto(`${server.base}/m2/`);
    await page.locator('#more').filter({ hasText: /没有演出|共/ }).waitFor();
    await page.goto(`${server.base}/web/store.html`);
    await page.locator('#fLogin').waitFor();
    await page.goto(`${server.base}/web/adm.html`);
    await page.locator('#fLogin').waitFor();
    // ApiLog rows are written within 20 ms of the call; give them time.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await count("SELECT COUNT(*) n FROM ApiLog WHERE ac='whoami' AND retval=2"), 0);
  });

  it('m2: leaving a view while its list still loads never shows a script error (1)', async () => {
    await page.setViewportSize(PHONE);
    await m2Login(zhang.phone, zhang.pwd);
    // A slow phone network: every order query takes 1.5 s.
    await page.route('**/api/Ordr.query*', async (route) => {
      await new Promise((r) => setTimeout(r, 1500));
      await route.continue().catch(() => {});
    });
    await page.locator('#tabbar a[data-tab=me]').click();
    await page.locator('.me-head').waitFor();
    await page.locator('#tabbar a[data-tab=home]').click();
    await page.locator('.hero').waitFor();
    await page.locator('#tabbar a[data-tab=me]').click();
    await page.locator('.me-head').waitFor();
    await page.waitForTimeout(2200);
    assert.ok(await page.locator('.me-head').isVisible(), 'still on 我的');
    assert.equal(await page.getByText('出错了').count(), 0);
    assert.equal(await page.getByText('页面加载失败').count(), 0);
    await page.unroute('**/api/Ordr.query*');
  });

  it('m2: a missing order says so in a buyer\'s words and keeps the way on (5)', async () => {
    await page.goto(`${server.base}/m2/#order/99999`);
    await page.getByText('订单不存在或不属于你').waitFor();
    assert.ok(await page.locator('#tabbar').isVisible(), 'the tab bar stays');
    assert.equal(await page.getByText('参数不正确').count(), 0);
    await shots(page, 'firstuse-m2-order-missing');
    await page.getByRole('link', { name: '查看我的订单' }).click();
    await page.locator('#olist li').first().waitFor();
  });

  it('m2: 点此重试 on a filtered tab loads the list again (5)', async () => {
    let fail = true;
    await page.route('**/api/Ordr.query*', async (route) => {
      if (fail) {
        fail = false;
        await route.abort('failed');
      } else {
        await route.continue();
      }
    });
    await page.goto(`${server.base}/m2/#orders/CA`);
    await page.getByText('点此重试').waitFor();
    await page.getByText('点此重试').click();
    await page.locator('#olist li').first().waitFor();
    const want = await count("SELECT COUNT(*) n FROM Ordr WHERE userId=1 AND status='CA'");
    assert.ok(want > 0);
    await page.unroute('**/api/Ordr.query*');
  });

  it('m2: a toast never covers the title bar (5)', async () => {
    await page.goto(`${server.base}/m2/#me`);
    await page.locator('.me-head').waitFor();
    await page.evaluate(async () => (await import('/web/lib/jdy.js')).toast('测试提示', 'ok'));
    const t = await page.locator('.jdy-toast', { hasText: '测试提示' }).boundingBox();
    const h = await page.locator('header.bar').boundingBox();
    assert.ok(t.y >= h.y + h.height, `toast at ${t.y}, title bar ends at ${h.y + h.height}`);
  });

  it('an unknown address answers a page in Chinese with the way back (5)', async () => {
    const r = await page.goto(`${server.base}/no/such/page`);
    assert.equal(r.status(), 404);
    await page.getByText('页面不存在').waitFor();
    assert.ok(await page.getByRole('link', { name: '返回首页' }).isVisible());
    assert.equal(await page.getByText('not found').count(), 0);
    await shots(page, 'firstuse-404');
  });

  it('m2: an absurd amount is refused beside the field and nothing is stored (7)', async () => {
    await page.goto(`${server.base}/m2/#new`);
    await page.locator('#fNew').waitFor();
    const before = await count('SELECT COUNT(*) n FROM Ordr');
    await page.locator('#dscr').fill('很贵的服务');
    await page.locator('#amount').fill('99999999');
    await page.locator('#fNew [type=submit]').click();
    await page.locator('#amountErr').waitFor({ state: 'visible' });
    assert.match(await page.locator('#amountErr').innerText(), /不超过100000\.00元/);
    assert.equal(await count('SELECT COUNT(*) n FROM Ordr'), before);
    await shots(page, 'firstuse-m2-amount');
    await page.locator('#amount').fill('117');
    await page.locator('#fNew [type=submit]').click();
    await seeToast(page, '下单成功');
    assert.equal(await count('SELECT COUNT(*) n FROM Ordr'), before + 1);
  });

  it('store: a page size that divides the rows exactly offers no empty next page (2)', async () => {
    await page.setViewportSize(DESKTOP);
    // 20 seeded orders plus the one just added: make it exactly 20 again.
    await adm.sql('DELETE FROM Ordr WHERE id > 20');
    await consoleLogin(MGR.uname, MGR.pwd);
    await page.locator('.page-orders tbody tr').first().waitFor();
    assert.equal(await page.locator('.pager .info').innerText(), '共 20 条, 第 1 / 1 页');
    assert.ok(await page.getByRole('button', { name: '下一页' }).isDisabled());
  });

  it('store: searching orders by the buyer\'s name finds them (6)', async () => {
    await page.locator('.toolbar input.q').fill('张三');
    const done = page.waitForResponse((r) => r.url().includes('Ordr.query'));
    await page.locator('.toolbar [type=submit]').click();
    await done;
    await page.waitForTimeout(50);
    const names = await page.locator('tbody tr td:nth-child(3)').allInnerTexts();
    assert.ok(names.length > 0, 'found some');
    assert.ok(names.every((n) => n === '张三'), names.join(','));
  });

  it('store: cancelling an order asks first, naming the order, the buyer and the amount (3)', async () => {
    const o = (await adm.sql("SELECT o.id, o.amount, u.name FROM Ordr o JOIN User u ON u.id=o.userId WHERE o.status='CR' ORDER BY o.id LIMIT 1"))[0];
    await page.locator('.toolbar input.q').fill(String(o.id));
    await page.locator('.toolbar [type=submit]').click();
    await page.locator(`tbody tr[data-id="${o.id}"]`).click();
    await page.locator('.jdy-dialog').getByRole('button', { name: '取消订单' }).click();
    const confirm = page.locator('.jdy-confirm');
    await confirm.waitFor();
    assert.equal(await confirm.innerText(), `取消订单 #${o.id} (${o.name}, ¥${Number(o.amount).toFixed(2)})?`);
    await shots(page, 'firstuse-store-confirm');
    await page.getByRole('button', { name: '再想想' }).click();
    assert.equal(await count(`SELECT COUNT(*) n FROM Ordr WHERE id=${o.id} AND status='CR'`), 1, 'nothing changed');
    await page.locator('.jdy-dialog').getByRole('button', { name: '取消订单' }).click();
    await page.locator('.jdy-confirm').waitFor();
    await page.locator('.jdy-dialog').last().getByRole('button', { name: '取消订单' }).click();
    await seeToast(page, '订单已取消');
    assert.equal(await count(`SELECT COUNT(*) n FROM Ordr WHERE id=${o.id} AND status='CA'`), 1);
  });

  it('store: the only manager has no delete; a clerk is disabled and then cannot log in (3)', async () => {
    await page.locator('#nav a[data-page=employees]').click();
    await page.locator('.page-employees tbody tr').first().waitFor();
    const mgrRow = page.locator('.page-employees tbody tr', { hasText: MGR.uname });
    assert.equal(await mgrRow.locator('[data-del]').count(), 0, 'no delete on the only manager');
    const clerkRow = page.locator('.page-employees tbody tr', { hasText: EMP.uname });
    await clerkRow.getByRole('button', { name: '禁用' }).click();
    assert.match(await page.locator('.jdy-confirm').innerText(), new RegExp(`禁用员工 #\\d+ \\(${EMP.name}\\)`));
    await page.locator('.jdy-dialog').getByRole('button', { name: '禁用' }).click();
    await seeToast(page, '员工已禁用');
    await clerkRow.getByText('已禁用').waitFor();
    await clerkRow.getByRole('button', { name: '删除' }).click();
    assert.match(await page.locator('.jdy-confirm').innerText(), new RegExp(`删除员工 #\\d+ \\(${EMP.name}\\)`));
    await page.getByRole('button', { name: '取消', exact: true }).click();
    await shots(page, 'firstuse-store-employees');
    await consoleLogout();
    await page.locator('#uname').fill(EMP.uname);
    await page.locator('#pwd').fill(EMP.pwd);
    await page.locator('#fLogin [type=submit]').click();
    await seeToast(page, '账号已禁用, 请联系经理');
    await adm.sql(`UPDATE Employee SET disableFlag=0 WHERE uname='${EMP.uname}'`);
  });

  it('store: a clerk sees the settings read-only (4)', async () => {
    await page.locator('#fLogin [type=submit]').click();
    await page.locator('#nav').waitFor();
    await page.locator('#nav a[data-page=cinf]').click();
    await page.locator('.page-cinf .note').waitFor();
    assert.equal(await page.locator('#btnAddCinf').count(), 0, 'no add');
    assert.equal(await page.locator('.page-cinf [data-del]').count(), 0, 'no delete');
    await shots(page, 'firstuse-store-cinf-clerk');
    await consoleLogout();
  });

  it('store statistics: amounts leave out cancelled orders, lines are straight, the quick pick shows (6)', async () => {
    await consoleLogin(MGR.uname, MGR.pwd);
    await page.locator('#nav a[data-page=stats]').click();
    await page.locator('#cards .stat-card').first().waitFor();
    await page.getByRole('button', { name: '近7天' }).click();
    await page.waitForTimeout(300);
    assert.ok(await page.getByRole('button', { name: '近7天' }).evaluate((b) => b.classList.contains('on')));
    assert.ok(!(await page.getByRole('button', { name: '近30天' }).evaluate((b) => b.classList.contains('on'))));
    const want = (await adm.sql(
      "SELECT COALESCE(SUM(amount),0) n FROM Ordr WHERE status NOT IN ('CA','RF') AND createTm>=date('now','localtime','-6 days')",
    ))[0].n;
    const card = page.locator('.stat-card', { hasText: '订单金额' }).locator('.value');
    assert.equal(await card.innerText(), `¥${Number(want).toFixed(2)}`);
    const tension = await page.locator('#chDay').evaluate((c) => window.Chart.getChart(c).data.datasets[0].tension);
    assert.equal(tension, 0);
    await shots(page, 'firstuse-store-stats');
  });
});
