// seed.js: the data the browser tests look at, written through execSql (test mode): a few users with
// passwords, an ordinary employee, and orders spread over the last two weeks with their OrderLog rows.

import { md5 } from './harness.js';

export const USERS = [
  { phone: '13800001111', uname: 'zhang', name: '张三', pwd: 'abc123' },
  { phone: '13900002222', uname: 'lisi', name: '李四', pwd: 'abc123' },
  { phone: '13700003333', uname: 'wangwu', name: '王五', pwd: 'abc123' },
];
export const EMP = { uname: 'xiaoli', phone: '13600006666', name: '小李', pwd: 'emp123' };
export const MGR = { uname: 'admin', pwd: '1234' };

const DSCR = ['家庭保洁 2小时', '上门洗车', '家电维修', '管道疏通', '同城搬家', '空调清洗'];
const STATUS = ['CR', 'RE', 'CA', 'CR', 'RE', 'PA'];

/** Seeds users, one ordinary employee and `orders` orders (default 36). Returns nothing; ids start at 1. */
export async function seed(server, { orders = 36 } = {}) {
  const adm = server.api('admin');
  const q = (s) => `'${String(s).replace(/'/g, "''")}'`;
  await adm.sql(`INSERT INTO User (phone, uname, name, pwd, createTm) VALUES ${USERS.map(
    (u, i) => `(${q(u.phone)}, ${q(u.uname)}, ${q(u.name)}, ${q(md5(u.pwd))}, datetime('now','localtime','-${20 - i} days'))`,
  ).join(', ')}`);
  // Every employee works for a store: the one the server made for the bootstrap manager.
  await adm.sql(`INSERT INTO Employee (uname, phone, name, pwd, perms, storeId) VALUES (${q(EMP.uname)}, ${q(EMP.phone)}, ${q(EMP.name)}, ${q(md5(EMP.pwd))}, 'emp', (SELECT storeId FROM Employee WHERE uname='admin'))`);
  const rows = [];
  for (let i = 0; i < orders; i += 1) {
    const user = (i % USERS.length) + 1;
    const ago = i % 13;
    rows.push(`(${user}, ${q(STATUS[Math.floor(i / USERS.length) % STATUS.length])}, ${30 + ((i * 37) % 270)}, ${q(DSCR[i % DSCR.length])}, datetime('now','localtime','-${ago} days','-${i} minutes'))`);
  }
  await adm.sql(`INSERT INTO Ordr (userId, status, amount, dscr, createTm) VALUES ${rows.join(', ')}`);
  await adm.sql(`INSERT INTO OrderLog (orderId, action, tm) SELECT id, 'CR', createTm FROM Ordr`);
  await adm.sql(`INSERT INTO OrderLog (orderId, action, tm, empId) SELECT id, status, datetime(createTm, '+2 hours'), 1 FROM Ordr WHERE status<>'CR'`);
}
