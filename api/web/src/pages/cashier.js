// The cashier's counter: a deposit signed with the cashier's own key, its
// printable receipt (receipt number, seq and chain hash, and a QR code of
// them, so anyone can look the deposit up in the log), a reversal, and a
// refund to a leaving occupant.
import QRCode from 'qrcode';
import { h, section, field, actionForm, yuan, campusTime } from '../ui.js';
import { t } from '../i18n.js';
import { signAndSubmit } from '../signing.js';

async function receipt(done, args) {
  const r = done.receipt || {};
  const proof = JSON.stringify({ receiptNo: r.receiptNo, seq: done.seq, chainHash: done.chainHash });
  const qr = await QRCode.toDataURL(proof, { errorCorrectionLevel: 'M', margin: 1, width: 180 });
  const row = (label, value, id) => h('tr', {}, h('th', {}, t(label)), h('td', { id }, value));
  return h('div', { class: 'receipt', id: 'receipt' },
    h('h2', {}, `wattledger · ${t('receipt')}`),
    h('table', {},
      row('receiptNo', r.receiptNo, 'receipt-no'), row('room', r.roomId || args.room),
      row('deposit', yuan(r.amountFen)), row('balanceAfter', yuan(r.balanceAfterFen)),
      row('cardNo', args.cardNo || ''), row('cashierId', args.cashier || ''),
      row('time', campusTime(r.timeUs)),
      row('seq', done.seq, 'receipt-seq'), row('chainHash', h('code', {}, done.chainHash))),
    h('img', { src: qr, alt: 'QR', class: 'qr', id: 'receipt-qr' }),
    h('p', { class: 'no-print' }, h('button', { id: 'print', onclick: () => window.print() }, t('print'))));
}

export async function cashierPage({ session, main }) {
  const user = session.user;
  const deposit = actionForm('deposit-form', [
    field('room', { name: 'room', required: true, placeholder: 'B01-101' }),
    field('amountYuan', { name: 'amountYuan', type: 'number', min: '0.01', step: '0.01', required: true }),
    field('cardNo', { name: 'cardNo' }),
    field('cashierId', { name: 'cashier', value: user }),
  ], async ({ amountYuan, ...args }) => {
    const amountFen = String(Math.round(Number(amountYuan) * 100));
    const done = await signAndSubmit(user, 'deposit', { ...args, amountFen, channel: 'counter' });
    return receipt(done, args);
  });
  const reverse = actionForm('reverse-form', [
    field('depositSeq', { name: 'seq', type: 'number', min: 1, required: true }),
    field('reason', { name: 'reason', required: true }),
  ], async (args) => `${t('ok')}: seq ${(await signAndSubmit(user, 'reverse', args)).seq}`);
  const refund = actionForm('refund-form', [
    field('room', { name: 'room', required: true }), field('person', { name: 'person', required: true }),
    field('reason', { name: 'reason', placeholder: 'graduation | transfer | other' }),
  ], async (args) => `${t('ok')}: seq ${(await signAndSubmit(user, 'refund', args)).seq}`);
  main.append(section(t('deposit'), deposit), section(t('reverse'), reverse), section(t('refund'), refund));
}
