// The user app (m2/index.html, app=user) at phone size, used the way a person uses it: log in (wrong password
// first), look at home, create an order, scroll and filter the list, open and cancel an order, see escaped
// text, see attachments, change name, avatar and password, log out, survive an expired session, and register
// a new phone with a code.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, newPage, shots, seeToast, expireSessions, makePng, PHONE } from './lib/harness.js';
import { seed, USERS } from './lib/seed.js';

describe('m2: the user app at 375 px', () => {
  let server;
  let browser;
  let page;
  const zhang = USERS[0];
  let newOrderId;

  before(async () => {
    server = await startServer();
    await seed(server, { orders: 45 });
    browser = await launch();
    page = await newPage(browser.context);
    await page.setViewportSize(PHONE);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  afterEach(() => {
    assert.deepEqual(page.problems, [], 'no script errors or unexpected alerts');
  });

  async function loginByPassword(uname, pwd) {
    await page.locator('.tabs [data-mode=pwd]').click();
    await page.locator('#fPwd [name=uname]').fill(uname);
    await page.locator('#fPwd [name=pwd]').fill(pwd);
    await page.locator('#fPwd [type=submit]').click();
  }

  it('shows the login view and refuses a wrong password with its message', async () => {
    // A guest lands on the catalogue; what is personal (首页, 订单, 我的) asks for a login and comes back after it.
    await page.goto(`${server.base}/m2/`);
    await page.locator('.shows-bar').waitFor();
    await page.locator('.tabbar a[data-tab=home]').click();
    await page.locator('.login').waitFor();
    await shots(page, 'm2-login');
    await loginByPassword(zhang.phone, 'wrong-password');
    await seeToast(page, '手机号或密码错误');
    assert.ok(await page.locator('.login').isVisible(), 'still on the login view');
  });

  it('logs in with the password and shows home with the order counts', async () => {
    await loginByPassword(zhang.phone, zhang.pwd);
    await page.locator('.hero').waitFor();
    assert.match(await page.locator('.hero .hi').innerText(), /张三/);
    await page.locator('#stats a[data-st=CR] b').waitFor();
    const mine = await server.api('admin').sql("SELECT COUNT(*) n FROM Ordr WHERE userId=1 AND status='CR'");
    assert.equal(await page.locator('#stats a[data-st=CR] b').innerText(), String(mine[0].n));
    assert.equal(await page.locator('#recent .olist li').count(), 3, 'three recent orders');
    await shots(page, 'm2-home');
  });

  it('creates an order from a preset and opens its detail with the timeline', async () => {
    await page.getByRole('link', { name: '立即下单' }).click();
    await page.locator('#fNew').waitFor();
    await page.locator('[data-dscr="上门洗车"]').click();
    assert.equal(await page.locator('#amount').inputValue(), '30');
    await page.locator('#dscr').fill('上门洗车 (小区东门)');
    await shots(page, 'm2-new');
    await page.locator('#fNew [type=submit]').click();
    await seeToast(page, '下单成功');
    await page.locator('#odscr').waitFor();
    assert.equal(await page.locator('#odscr').innerText(), '上门洗车 (小区东门)');
    newOrderId = Number(await page.locator('#oid').innerText());
    assert.ok(newOrderId > 45);
    assert.match(await page.locator('.timeline').innerText(), /新创建/);
    await shots(page, 'm2-order');
  });

  it('loads more orders while scrolling and filters the list by status', async () => {
    await page.locator('.bar .back').click();
    await page.locator('.bar .back').click();
    await page.locator('.tabbar a[data-tab=orders]').click();
    await page.locator('#olist li').first().waitFor();
    const total = (await server.api('admin').sql('SELECT COUNT(*) n FROM Ordr WHERE userId=1'))[0].n;
    assert.ok(total > 10, 'more than one page of orders');
    await shots(page, 'm2-orders');
    // Scroll until the list says it has them all.
    for (let i = 0; i < 10 && !(await page.locator('#more', { hasText: '共' }).count()); i += 1) {
      await page.mouse.wheel(0, 3000);
      await page.waitForTimeout(250);
    }
    assert.equal(await page.locator('#more').innerText(), `— 共 ${total} 个订单 —`);
    assert.equal(await page.locator('#olist li').count(), total);
    const ids = await page.locator('#olist [data-order]').evaluateAll((as) => as.map((a) => Number(a.dataset.order)));
    assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first, no duplicates across pages');
    assert.equal(new Set(ids).size, ids.length);

    await page.locator('.chips [data-st=CA]').click();
    await page.locator('.chips [data-st=CA].on').waitFor();
    await page.locator('#more', { hasText: '共' }).waitFor();
    const badges = await page.locator('#olist .badge').allInnerTexts();
    assert.ok(badges.length > 0);
    assert.ok(badges.every((b) => b === '已取消'), `only cancelled orders: ${badges}`);
  });

  it('shows an empty state when no order has the chosen status', async () => {
    await server.api('admin').sql("UPDATE Ordr SET status='RE' WHERE userId=1 AND status='PA'");
    await page.locator('.chips [data-st=PA]').click();
    await page.locator('#more .empty').waitFor();
    assert.match(await page.locator('#more').innerText(), /没有该状态的订单/);
  });

  it('cancels a new order after confirming, and the timeline shows the cancellation', async () => {
    await page.goto(`${server.base}/m2/#order/${newOrderId}`);
    await page.locator('#btnCancel').click();
    await page.locator('.jdy-dialog', { hasText: '确定要取消这个订单吗' }).waitFor();
    await shots(page, 'm2-cancel-confirm');
    await page.locator('.jdy-dialog .btn.danger').click();
    await seeToast(page, '订单已取消');
    await page.locator('.status-head', { hasText: '已取消' }).waitFor();
    assert.equal(await page.locator('.timeline li').count(), 2);
    assert.match(await page.locator('.timeline li').last().innerText(), /已取消/);
    assert.equal(await page.locator('#btnCancel').count(), 0, 'a cancelled order cannot be cancelled again');
  });

  it('shows text from the server as text, never as markup', async () => {
    const evil = '<img src=x onerror="window.__xss=1"><b>粗体</b> & "引号"';
    await page.goto(`${server.base}/m2/#new`);
    await page.locator('#dscr').fill(evil);
    await page.locator('#amount').fill('12.5');
    await page.locator('#fNew [type=submit]').click();
    await page.locator('#odscr').waitFor();
    assert.equal(await page.locator('#odscr').innerText(), evil);
    assert.equal(await page.locator('#odscr img, #odscr b').count(), 0);
    await page.goto(`${server.base}/m2/#orders`);
    await page.locator('#olist li').first().waitFor();
    assert.equal(await page.locator('#olist .dscr').first().innerText(), evil);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
  });

  it('creates an order with pictures, and its detail shows them', async () => {
    await page.goto(`${server.base}/m2/#new`);
    await page.locator('#dscr').fill('家电维修: 洗衣机不排水');
    await page.locator('#amount').fill('80');
    await page.locator('#picFile').setInputFiles([
      { name: 'a.png', mimeType: 'image/png', buffer: makePng(320, 240, [229, 72, 77]) },
      { name: 'b.png', mimeType: 'image/png', buffer: makePng(240, 320, [31, 157, 85]) },
    ]);
    await seeToast(page, '已添加2张图片');
    await page.waitForFunction(() => [...document.querySelectorAll('#newAtts img')].filter((i) => i.complete && i.naturalWidth > 0).length === 2);
    await shots(page, 'm2-new-pictures');
    await page.locator('#fNew [type=submit]').click();
    await seeToast(page, '下单成功');
    await page.locator('.atts img').first().waitFor();
    assert.equal(await page.locator('.atts img').count(), 2);
    await page.waitForFunction(() => [...document.querySelectorAll('.atts img')].every((i) => i.complete && i.naturalWidth > 0));
    const href = await page.locator('.atts a').first().getAttribute('href');
    const full = await page.request.get(`${server.base}${href}`);
    assert.equal(full.status(), 200);
    assert.match(full.headers()['content-type'], /^image\//);
    await shots(page, 'm2-order-pictures');
  });

  it('changes the name on the me page', async () => {
    await page.goto(`${server.base}/m2/#home`);
    await page.locator('.tabbar a[data-tab=me]').click();
    await page.locator('#btnName').click();
    await page.locator('.jdy-dialog input[name=name]').fill('张三丰');
    await page.locator('.jdy-dialog .btn.primary').click();
    await seeToast(page, '昵称已修改');
    await page.locator('#meName', { hasText: '张三丰' }).waitFor();
    await shots(page, 'm2-me');
  });

  it('uploads an avatar and shows its thumbnail', async () => {
    await page.locator('#avatarFile').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: makePng(400, 400) });
    await seeToast(page, '头像已更新');
    await page.waitForFunction(() => {
      const i = document.querySelector('#avatar img');
      return i && i.complete && i.naturalWidth > 0;
    });
    const picId = (await server.api('admin').sql('SELECT picId FROM User WHERE id=1'))[0].picId;
    assert.ok(picId > 0, 'User.picId is set');
    await shots(page, 'm2-me-avatar');
  });

  it('changes the password, which then logs in', async () => {
    await page.locator('#btnPwd').click();
    await page.locator('#oldpwd').fill('not-my-password');
    await page.locator('#pwd').fill('new-pass-1');
    await page.locator('#pwd2').fill('new-pass-1');
    await page.locator('#fPwd [type=submit]').click();
    await seeToast(page, '密码验证失败');
    await page.locator('#oldpwd').fill(zhang.pwd);
    await shots(page, 'm2-chpwd');
    await page.locator('#fPwd [type=submit]').click();
    await seeToast(page, '密码已修改');
    await page.locator('#meName').waitFor();
    zhang.pwd = 'new-pass-1';
  });

  it('logs out after confirming, and stays logged out after a reload', async () => {
    await page.goto(`${server.base}/m2/#me`);
    await page.locator('#btnLogout').click();
    await page.locator('.jdy-dialog .btn.primary').click();
    await seeToast(page, '已退出登录');
    await page.locator('.login').waitFor();
    assert.equal(await page.evaluate(() => localStorage.getItem('jdy.token.user')), null, 'the token is forgotten');
    await page.reload();
    await page.locator('.login').waitFor();
    await loginByPassword(zhang.phone, zhang.pwd);
    await page.locator('.hero').waitFor();
  });

  it('logs in again by itself with the saved token when only the cookie is gone', async () => {
    await browser.context.clearCookies();
    await page.goto(`${server.base}/m2/#me`);
    await page.locator('#meName').waitFor();
    assert.match(await page.locator('#meName').innerText(), /张三/);
  });

  it('sends an expired session to the login view, and back to the same view after logging in', async () => {
    await page.goto(`${server.base}/m2/#orders`);
    await page.locator('#olist li').first().waitFor();
    await expireSessions(server, browser.context, 'user');
    await page.locator('.chips [data-st=RE]').click();
    await seeToast(page, '登录已过期');
    await page.locator('.login').waitFor();
    await loginByPassword(zhang.phone, zhang.pwd);
    await page.locator('#olist li').first().waitFor();
    assert.match(page.url(), /#orders\/RE$/);
  });

  it('registers a new phone with a code, with a resend countdown, then sets name and password', async () => {
    await page.goto(`${server.base}/m2/#me`);
    await page.locator('#btnLogout').click();
    await page.locator('.jdy-dialog .btn.primary').click();
    await page.locator('.login').waitFor();
    await page.locator('#fCode [name=phone]').fill('13512345678');
    await page.locator('#btnGenCode').click();
    await page.locator('#btnGenCode', { hasText: /秒后重发/ }).waitFor();
    assert.ok(await page.locator('#btnGenCode').isDisabled(), 'no resend during the countdown');
    assert.match(await page.locator('#fCode [name=code]').inputValue(), /^\d{6}$/, 'test mode fills the code in');
    await shots(page, 'm2-login-code');
    await page.locator('#fCode [type=submit]').click();
    await seeToast(page, '注册成功');
    await page.locator('#fInfo').waitFor();
    assert.match(await page.locator('#nm').inputValue(), /^用户135\*{4}5678$/);
    await page.locator('#nm').fill('新用户小王');
    await page.locator('#pw').fill('wang1234');
    await page.locator('#pw2').fill('wang1234');
    await shots(page, 'm2-setinfo');
    await page.locator('#fInfo [type=submit]').click();
    await seeToast(page, '设置成功');
    await page.locator('.hero', { hasText: '新用户小王' }).waitFor();
    await page.locator('#recent .empty').waitFor();
    await shots(page, 'm2-home-new-user');

    // The password set on the first-info page works.
    await page.goto(`${server.base}/m2/#me`);
    await page.locator('#btnLogout').click();
    await page.locator('.jdy-dialog .btn.primary').click();
    await page.locator('.login').waitFor();
    await loginByPassword('13512345678', 'wang1234');
    await page.locator('.hero', { hasText: '新用户小王' }).waitFor();
  });
});
