// Simplified Chinese and English, switchable at any time (kept in
// localStorage). t('key') is the text in the current language; a key with no
// entry shows as itself, so a missing translation is visible, not blank.
const TEXTS = {
  appName: ['宿舍预付费电费管理', 'Dormitory prepaid electricity'],
  login: ['登录', 'Log in'], logout: ['退出', 'Log out'],
  username: ['用户名 / 校园卡号', 'User name / campus card'], password: ['密码', 'Password'],
  dashboard: ['总览', 'Dashboard'], rooms: ['房间', 'Rooms'], devices: ['电表与集中器', 'Meters & gateways'],
  control: ['控制', 'Control'], cashier: ['收费', 'Cashier'], reports: ['报表', 'Reports'],
  audit: ['审计', 'Audit'], users: ['用户与密钥', 'Users & keys'], myKey: ['我的密钥', 'My key'],
  myRoom: ['我的房间', 'My room'],
  meters: ['电表', 'Meters'], gateways: ['集中器', 'Gateways'], online: ['在线', 'online'],
  offline: ['离线', 'offline'], fault: ['故障', 'fault'], unknown: ['未知', 'unknown'],
  openAlarms: ['未处理告警', 'Open alarms'], livePower: ['各楼实时功率', 'Live power by building'],
  todayDeposits: ['今日充值', "Today's deposits"], powerW: ['功率 (W)', 'Power (W)'],
  search: ['搜索', 'Search'], searchHint: ['楼号 / 楼层 / 房号 / 住户 / 卡号', 'building / floor / number / occupant / card'],
  room: ['房间', 'Room'], building: ['楼栋', 'Building'], floor: ['楼层', 'Floor'], number: ['房号', 'Number'],
  occupants: ['住户', 'Occupants'], balance: ['余额', 'Balance'], allowanceLeft: ['剩余免费额度', 'Free allowance left'],
  power: ['供电', 'Power'], why: ['原因', 'Why'], live: ['实时', 'Live'], history: ['事件记录', 'Event history'],
  consumption: ['用电量', 'Consumption'], verified: ['已验证', 'verified'], notVerified: ['验证失败', 'NOT verified'],
  signer: ['签名者', 'Signer'], event: ['事件', 'Event'], time: ['时间', 'Time'],
  meter: ['电表', 'Meter'], circuit: ['回路', 'Circuit'], reason: ['原因', 'Reason'],
  cut: ['拉闸断电', 'Cut off'], restore: ['合闸恢复', 'Restore'], keepPower: ['保电', 'Keep power'],
  keepPowerClear: ['解除保电', 'End keep-power'], send: ['签名并提交', 'Sign and submit'],
  pending: ['待下发', 'Pending'], commands: ['控制命令', 'Commands'], params: ['电表参数', 'Meter parameters'],
  policy: ['控制策略', 'Control policy'], scope: ['范围', 'Scope'],
  loadLimitW: ['负荷限值 (W)', 'Load limit (W)'], maliciousStepW: ['恶性负载突变 (W)', 'Malicious step (W)'],
  maliciousPfMilli: ['恶性负载功率因数 (‰)', 'Malicious PF (‰)'], recoveryMinutes: ['自动恢复 (分钟)', 'Recovery (minutes)'],
  workday: ['工作日时段', 'Workday periods'], holiday: ['节假日时段', 'Holiday periods'],
  noCut: ['不断电时段', 'No-cut windows'], whitelist: ['白名单电器', 'Whitelisted appliances'],
  deposit: ['充值', 'Deposit'], amountYuan: ['金额 (元)', 'Amount (CNY)'], cardNo: ['卡号', 'Card no.'],
  cashierId: ['收费员', 'Cashier'], receipt: ['收据', 'Receipt'], print: ['打印', 'Print'],
  receiptNo: ['收据号', 'Receipt no.'], seq: ['序号', 'Seq'], chainHash: ['链哈希', 'Chain hash'],
  balanceAfter: ['充值后余额', 'Balance after'], reverse: ['冲正', 'Reverse'], depositSeq: ['充值序号', "Deposit's seq"],
  report: ['报表', 'Report'], since: ['起', 'Since'], until: ['止', 'Until'], by: ['分组', 'By'], period: ['周期', 'Period'],
  show: ['查询', 'Show'], downloadCsv: ['下载 CSV', 'Download CSV'],
  head: ['链头', 'Chain head'], checkpoints: ['检查点', 'Checkpoints'], verify: ['验证全部日志', 'Verify the whole log'],
  exportLog: ['导出日志', 'Export the log'], events: ['事件', 'events'], done: ['完成', 'Done'],
  accounts: ['账户', 'Accounts'], keys: ['签名密钥', 'Signing keys'], role: ['角色', 'Role'],
  displayName: ['姓名', 'Display name'], keyId: ['密钥 ID', 'Key id'], personId: ['学号', 'Person id'],
  create: ['创建', 'Create'], disable: ['停用', 'Disable'], enable: ['启用', 'Enable'],
  register: ['登记', 'Register'], revoke: ['吊销', 'Revoke'], holder: ['持有人', 'Holder'],
  publicKey: ['公钥', 'Public key'], revoked: ['已吊销', 'revoked'], setKey: ['设为签名密钥', 'Use as signing key'],
  importKey: ['导入私钥 (PKCS#8 PEM)', 'Import private key (PKCS#8 PEM)'],
  keyStored: ['本浏览器保存的密钥', 'Key kept in this browser'], noKey: ['本浏览器尚无密钥', 'No key in this browser'],
  forget: ['删除', 'Forget'], generateKey: ['在本浏览器生成新密钥', 'Make a new key in this browser'],
  saveKey: ['保存私钥备份 (PEM)', 'Save the private key (PEM)'],
  newKeyHint: ['请将公钥交给管理员登记，并妥善保存私钥文件：这是本浏览器之外唯一的副本。',
    'Give the public key to an admin to register, and keep the private key file safe: it is the only copy outside this browser.'], accountKey: ['账户登记的密钥', "Your account's key"],
  changePassword: ['修改密码', 'Change password'], currentPassword: ['当前密码', 'Current password'],
  newPassword: ['新密码', 'New password'], save: ['保存', 'Save'],
  remainingWh: ['可用电量', 'Energy it buys'], predictedCut: ['预计断电', 'Predicted cut-off'],
  reminders: ['提醒', 'Reminders'], usage: ['用电', 'Usage'], alarms: ['告警', 'Alarms'],
  severity: ['级别', 'Severity'], state: ['状态', 'State'], lastSeen: ['最后在线', 'Last seen'],
  errorRate: ['通信错误率', 'Comm error rate'], attempts: ['尝试', 'Attempts'], failed: ['失败', 'Failed'],
  refund: ['退款', 'Refund'], person: ['住户', 'Person'], ok: ['成功', 'Done'], error: ['错误', 'Error'],
  campus: ['校园登记', 'Campus'], occupantAssign: ['入住', 'Occupant moves in'], occupantMoveOut: ['退宿', 'Occupant moves out'],
  exchange: ['调换房间', 'Room exchange'], fromRoom: ['原房间', 'From room'], toRoom: ['新房间', 'To room'],
  swapPerson: ['对调住户 (可选)', 'Swap with (optional)'], roomAdd: ['新增房间', 'Add a room'], buildingAdd: ['新增楼栋', 'Add a building'],
  capacity: ['床位', 'Beds'], tariffClass: ['电价类别', 'Tariff class'], identityClass: ['身份', 'Identity'],
  meterInstall: ['安装电表', 'Install a meter'], meterReplace: ['更换电表', 'Replace a meter'], initialWh: ['初始读数 (Wh)', 'Initial reading (Wh)'],
  oldMeter: ['旧表', 'Old meter'], newMeter: ['新表', 'New meter'], oldFinalWh: ['旧表终读数 (Wh)', 'Old final (Wh)'],
  newInitialWh: ['新表起读数 (Wh)', 'New initial (Wh)'], gatewayAdd: ['新增集中器', 'Add a gateway'], address: ['地址', 'Address'],
  location: ['位置', 'Location'], mode: ['模式', 'Mode'], tariff: ['电价', 'Tariff'], tiers: ['阶梯 (kWh:元)', 'Tiers (kWh:CNY)'],
  allowanceKwhPerYear: ['每人每年免费额度 (kWh)', 'Free kWh per person per year'], effectiveFrom: ['生效时间', 'Effective from'],
  overdraft: ['透支额度', 'Overdraft limit'], limitFen: ['额度 (分)', 'Limit (fen)'],
  days: ['天', 'days'], day: ['按日', 'By day'], month: ['按月', 'By month'], never: ['无', 'none'], violations: ['违规用电', 'Violations'],
};

let lang = localStorage.getItem('wl.lang') || (navigator.language.startsWith('zh') ? 'zh' : 'en');
export const language = () => lang;
export function setLanguage(next) {
  lang = next;
  localStorage.setItem('wl.lang', next);
  document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
}
export function t(key) {
  const entry = TEXTS[key];
  return entry ? entry[lang === 'zh' ? 0 : 1] : key;
}
