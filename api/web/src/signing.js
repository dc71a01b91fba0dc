// Signing stays with the person: their Ed25519 key is imported once from its
// PKCS#8 PEM file into WebCrypto as a non-extractable key and kept in this
// browser's IndexedDB (a CryptoKey survives there without its bytes ever
// being readable by script). The server prepares a command's canonical body;
// the browser signs "wattledger/v1/event" || body itself and submits the
// signature. The server never sees the private key.
import { post } from './api.js';

const DB = 'wattledger';
const STORE = 'keys';
const EVENT_DOMAIN = new TextEncoder().encode('wattledger/v1/event');

export const hex = (bytes) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
export const fromHex = (text) => new Uint8Array(text.match(/../g)?.map((h) => parseInt(h, 16)) ?? []);
export const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
export function toBase64(bytes) {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s);
}
const fromBase64Url = (text) => fromBase64(text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4));

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function withStore(mode, action) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const request = action(tx.objectStore(STORE));
    tx.oncomplete = () => { db.close(); resolve(request.result); };
    tx.onerror = () => { db.close(); reject(tx.error); };
  });
}

// The PEM's DER bytes: "PRIVATE KEY" (PKCS#8) only.
export function pkcs8FromPem(text) {
  const match = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(text);
  if (!match) throw new Error('not a PKCS#8 private key (-----BEGIN PRIVATE KEY-----)');
  return fromBase64(match[1].replace(/\s+/g, ''));
}

// Imports the key for `user`; returns its key id (SHA-256 of the raw public key).
export async function importKey(user, pemText) {
  const der = pkcs8FromPem(pemText);
  const algorithm = { name: 'Ed25519' };
  // Extractable once, only to learn the public half; then non-extractable for keeps.
  const probe = await crypto.subtle.importKey('pkcs8', der, algorithm, true, ['sign']);
  const jwk = await crypto.subtle.exportKey('jwk', probe);
  const publicKey = fromBase64Url(jwk.x);
  const key = await crypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
  der.fill(0);
  const keyId = hex(await crypto.subtle.digest('SHA-256', publicKey));
  await withStore('readwrite', (store) => store.put({ key, publicKey: hex(publicKey), keyId }, user));
  return keyId;
}

// A new key made in this browser for `user`: kept like an imported one, and
// returned once as PKCS#8 PEM for its holder to save (the only copy outside
// this browser) with its public key for an admin to register.
export async function generateKey(user) {
  const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const der = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey));
  const lines = toBase64(der).match(/.{1,64}/g).join('\n');
  const pem = `-----BEGIN PRIVATE KEY-----\n${lines}\n-----END PRIVATE KEY-----\n`;
  const keyId = await importKey(user, pem);
  der.fill(0);
  const publicKey = hex(await crypto.subtle.exportKey('raw', pair.publicKey));
  return { pem, keyId, publicKey };
}

export const storedKey = (user) => withStore('readonly', (store) => store.get(user));
export const forgetKey = (user) => withStore('readwrite', (store) => store.delete(user));

// Prepares `command` with `args` on the server, signs it here with the
// user's key and submits it. Returns the ledger's answer (seq, chainHash,
// receipt for a deposit).
export async function signAndSubmit(user, command, args) {
  const stored = await storedKey(user);
  if (!stored) throw new Error('no signing key in this browser: import yours under "My key"');
  const prepared = await post(`/api/commands/${command}/prepare`, args);
  const body = fromBase64(prepared.body);
  const message = new Uint8Array(EVENT_DOMAIN.length + body.length);
  message.set(EVENT_DOMAIN);
  message.set(body, EVENT_DOMAIN.length);
  const signature = await crypto.subtle.sign({ name: 'Ed25519' }, stored.key, message);
  return post('/api/commands/submit', { body: prepared.body, signature: toBase64(signature) });
}

// True when `signature` (hex) is `publicKey`'s (hex) over the event body.
export async function verifyEvent(publicKey, signatureHex, bodyBytes) {
  const key = await crypto.subtle.importKey('raw', fromHex(publicKey), { name: 'Ed25519' }, false, ['verify']);
  const message = new Uint8Array(EVENT_DOMAIN.length + bodyBytes.length);
  message.set(EVENT_DOMAIN);
  message.set(bodyBytes, EVENT_DOMAIN.length);
  return crypto.subtle.verify({ name: 'Ed25519' }, key, fromHex(signatureHex), message);
}
