/* The ledger's public keys file and its key history, as ledger/tlog/public_keys.py and
 * ledger/keys/history.py read them: each key signs a range of sequence numbers, the first
 * key from seq 1, each next one from the previous one's last_seq + 1, only the last open.
 * An entry of seq S must be signed by the key whose range holds S; a checkpoint of log
 * size N by the key current after entry N (the key of seq N + 1), or, below
 * `# legacy_below: M`, also by the key of entry N. Times are never validity. */
"use strict";
(function (root) {
  const F = root.Fairsplit, I = root.FairsplitInternals;
  const fail = F.fail, { sha256, toHex, same, enc } = I;
  const BEGIN = "-----BEGIN PUBLIC KEY-----", END = "-----END PUBLIC KEY-----";
  const MAX_KEYRING_BYTES = 1 << 20, MAX_KEYS = 10000;
  const SEQ = /^[1-9][0-9]{0,18}$/;
  const SPKI_ED25519 = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
  // Python's str.splitlines() separators and str.strip() whitespace, so a line means the same in both.
  const LINE_BREAK = /\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]/;
  const SPACE = "[\\t\\n\\x0b\\x0c\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
  const EDGES = new RegExp(`^${SPACE}+|${SPACE}+$`, "g");
  const strip = (text) => text.replace(EDGES, "");

  /** `# name: value` of a seq: a number from 1, '-' (null: open), or `fallback` when absent. */
  function seqOf(meta, name, fallback) {
    if (!meta.has(name)) return fallback;
    const value = meta.get(name);
    if (value === "-") return null;
    if (!SEQ.test(value)) fail(`The ${name} of a key must be a sequence number (1, 2, …) or '-'.`);
    return BigInt(value);
  }

  /** The public keys file: {origin, keys: [{keyId, raw, firstSeq, lastSeq}], legacyBelow}. */
  F.parseKeyring = async function parseKeyring(text) {
    if (enc.encode(text).length > MAX_KEYRING_BYTES) fail("The public keys file is too large.");
    let origin = null, legacyBelow = 0n, meta = new Map(), block = null, byTime = false;
    let keys = [];
    for (const rawLine of text.split(LINE_BREAK)) {
      const line = strip(rawLine);
      if (block !== null) {
        block.push(line);
        if (line !== END) continue;
        byTime = byTime || (meta.has("retired_at") && !meta.has("first_seq"));
        keys.push(await keyFrom(block, meta));
        meta = new Map();
        block = null;
        if (keys.length > MAX_KEYS) fail("The public keys file holds too many keys.");
      } else if (line === BEGIN) {
        block = [line];
      } else if (line.startsWith("#") && line.includes(":")) {
        const colon = line.indexOf(":");
        const name = strip(line.slice(1, colon)), value = strip(line.slice(colon + 1));
        if (name === "origin") origin = value;
        else if (name === "legacy_below") legacyBelow = seqOf(new Map([[name, value]]), name, 0n) ?? 0n;
        else meta.set(name, value);
      }
    }
    if (block !== null) fail("The public keys file ends inside a PEM block.");
    if (!keys.length) fail("The public keys file holds no PEM public key.");
    if (byTime && keys.length > 1) {
      fail("This public keys file states key validity by time, which any key holder can write; "
        + "get the current one (`fairsplit keys public`), which states seq ranges.");
    }
    if (byTime) keys = [{ ...keys[0], firstSeq: 1n, lastSeq: null }];
    checkRanges(keys);
    return { origin, keys, legacyBelow };
  };

  async function keyFrom(block, meta) {
    let der;
    try { der = Uint8Array.from(atob(block.slice(1, -1).join("")), (c) => c.charCodeAt(0)); } catch (_) { der = null; }
    if (!der || der.length !== 44 || !same(der.slice(0, 12), SPKI_ED25519)) {
      fail("A public key in the public keys file is not an Ed25519 key.");
    }
    const raw = der.slice(12);
    const keyId = toHex(await sha256(raw)).slice(0, 16);
    if ((meta.has("key_id") ? meta.get("key_id") : keyId) !== keyId) {
      fail(`The public keys file names key ${meta.get("key_id")}, but its PEM block is key ${keyId}.`);
    }
    return { keyId, raw, firstSeq: seqOf(meta, "first_seq", 1n), lastSeq: seqOf(meta, "last_seq", null) };
  }

  /** Keyring's invariant: ranges follow each other from seq 1, only the last open; no key twice. */
  function checkRanges(keys) {
    let expected = 1n;
    keys.forEach((info, number) => {
      const last = number === keys.length - 1;
      if (info.firstSeq !== expected || (info.lastSeq === null) !== last
          || (info.lastSeq !== null && info.lastSeq < info.firstSeq)) {
        fail("The keys' seq ranges must follow each other from seq 1, only the last one open.");
      }
      expected = (info.lastSeq ?? 0n) + 1n;
    });
    if (new Set(keys.map((k) => k.keyId)).size !== keys.length) fail("A key appears twice in the public keys file.");
  }

  // --- the key history (ledger/keys/history.py KeyHistory) ------------------------------------
  const covers = (key, seq) => key.firstSeq <= seq && (key.lastSeq === null || seq <= key.lastSeq);
  const span = (key) => `${key.firstSeq}-${key.lastSeq ?? ""}`;
  /** The key that signs entry `seq`. */
  const keyAt = (keyring, seq) => [...keyring.keys].reverse().find((k) => covers(k, seq)) ?? keyring.keys[0];

  function entryProblem(keyring, keyId, seq) {
    const expected = keyAt(keyring, seq);
    if (expected.keyId === keyId) return null;
    const known = keyring.keys.find((k) => k.keyId === keyId);
    if (!known) return `key ${keyId} is not in the log's key history`;
    return `key ${keyId} signs entries ${span(known)}, not seq ${seq} (signed by ${expected.keyId})`;
  }

  function checkpointProblem(keyring, keyId, size) {
    const expected = keyAt(keyring, size + 1n);
    if (expected.keyId === keyId) return null;
    if (size < keyring.legacyBelow && size >= 1n && keyAt(keyring, size).keyId === keyId) return null;
    const known = keyring.keys.find((k) => k.keyId === keyId);
    if (!known) return `key ${keyId} is not in the log's key history`;
    return `a log of size ${size} is signed by key ${expected.keyId}, not ${keyId} (which signs entries ${span(known)})`;
  }

  function known(keyring, keyId) {
    const info = keyring.keys.find((k) => k.keyId === keyId);
    if (!info) fail(`Key ${JSON.stringify(keyId)} is not in the public keys file.`);
    return info;
  }

  /** The key `keyId`, if it signs entry `seq` (Keyring.key_for_entry). */
  F.keyForEntry = function keyForEntry(keyring, keyId, seq) {
    const info = known(keyring, keyId);
    const problem = entryProblem(keyring, keyId, seq);
    if (problem !== null) fail(`Signed with a key outside its range: ${problem}.`);
    return info;
  };

  /** The key `keyId`, if it signs checkpoints of log size `size` (Keyring.key_for_size). */
  F.keyForSize = function keyForSize(keyring, keyId, size) {
    const info = known(keyring, keyId);
    const problem = checkpointProblem(keyring, keyId, size);
    if (problem !== null) fail(`Signed with a key outside its range: ${problem}.`);
    return info;
  };
})(globalThis);
