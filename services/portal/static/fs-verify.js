/* fairsplit's offline verifier in the browser: the same checks as ledger/tlog/proofs.py, with
 * WebCrypto (Ed25519, SHA-256). One function per check; `verifyDocument` runs them in the
 * Python verifier's order and throws VerificationError (one sentence) at the first that
 * fails. Nothing is reported valid unless every check passed. Formats: docs/verifiable-ledger.md. */
"use strict";
(function (root) {
  const F = root.Fairsplit;
  const fail = F.fail;
  const subtle = root.crypto && root.crypto.subtle;
  const enc = new TextEncoder();
  const MAX_INT = (1n << 63n) - 1n;
  const INCLUSION = "fairsplit.inclusion-proof/v1", BUNDLE = "fairsplit.balance-bundle/v1";
  const CONSISTENCY = "fairsplit.consistency-proof/v1";
  const DOCUMENT_FIELDS = {
    [INCLUSION]: ["format", "entry", "leaf_index", "inclusion_path", "checkpoint", "consistency"],
    [BUNDLE]: ["format", "account", "balances", "display", "entries", "evidence", "key_entries", "checkpoint", "consistency", "period"],
    [CONSISTENCY]: ["format", "old_checkpoint", "checkpoint", "consistency"],
  };
  const TEXT = "text", OPTIONAL = "optional text", INT = "int", TIME = "time", HEX = "hex";
  // Every column of a transfer as a proof carries it (ledger/tlog/proofs.py ENTRY_FIELDS).
  const ENTRY_FIELDS = {
    seq: INT, id: TEXT, version: INT, event_id: TEXT, attribution_id: OPTIONAL, kind: TEXT,
    debit_account: TEXT, credit_account: TEXT, amount: INT, currency: TEXT, occurred_at: TIME,
    created_at: TIME, reverses_id: OPTIONAL, memo: OPTIONAL, prev_hash: HEX, hash: HEX,
    key_id: TEXT, signature: HEX,
  };
  // The canonical row encoding, version 1 (ledger/books/encoding.py), in field order after the tag.
  const ENCODING_FIELDS = ["seq", "id", "event_id", "attribution_id", "kind", "debit_account", "credit_account",
    "amount", "currency", "occurred_at", "created_at", "reverses_id", "memo", "key_id", "prev_hash"];
  // Transfer kinds that are log entries without money, amount 0 (ledger/books/accounts.py SYSTEM_KINDS).
  const SYSTEM_KINDS = ["key", "close"];
  // ISO 4217 minor-unit digits (ledger/money.py CURRENCIES).
  const CURRENCIES = { AED: 2, ARS: 2, AUD: 2, BGN: 2, BHD: 3, BRL: 2, CAD: 2, CHF: 2, CLP: 0, CNY: 2, COP: 2,
    CZK: 2, DKK: 2, EGP: 2, EUR: 2, GBP: 2, HKD: 2, HUF: 2, IDR: 2, ILS: 2, INR: 2, ISK: 0, JOD: 3, JPY: 0,
    KES: 2, KRW: 0, KWD: 3, MXN: 2, MYR: 2, NGN: 2, NOK: 2, NZD: 2, OMR: 3, PHP: 2, PKR: 2, PLN: 2, RON: 2,
    SAR: 2, SEK: 2, SGD: 2, THB: 2, TND: 3, TRY: 2, TWD: 2, UAH: 2, USD: 2, VND: 0, ZAR: 2 };

  // --- bytes -----------------------------------------------------------------------------
  const concat = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  };
  const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const same = (a, b) => a.length === b.length && a.every((x, k) => x === b[k]);
  const sha256 = async (bytes) => new Uint8Array(await subtle.digest("SHA-256", bytes));
  const u32 = (n) => new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);

  function b64Strict(text, what) {
    if (typeof text !== "string" || text.length % 4 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) fail(`${what} is not valid base64.`);
    let binary;
    try { binary = atob(text); } catch (_) { fail(`${what} is not valid base64.`); }
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    if (btoa(binary) !== text) fail(`${what} is not canonical base64.`);
    return bytes;
  }
  F.b64Strict = b64Strict;

  const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
  const TIME_RE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\.[0-9]{6}Z$/;

  /** A time as the ledger writes it (YYYY-MM-DDTHH:MM:SS.ffffffZ, a real instant). Such
   * strings order as their instants, so the string itself is returned and compared. */
  function parseTime(text, what) {
    const m = typeof text === "string" && TIME_RE.exec(text);
    if (!m) fail(`${what} must be written YYYY-MM-DDTHH:MM:SS.ffffffZ.`);
    const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
    const date = new Date(0);
    date.setUTCFullYear(y, mo - 1, d);
    const real = y >= 1 && date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
    if (!real || h > 23 || mi > 59 || s > 59) fail(`${what} ${JSON.stringify(text)} is not a real date and time.`);
    return text;
  }

  // --- Ed25519 keys and signatures (WebCrypto) ---------------------------------------------
  const imported = new Map();

  async function ed25519Verify(raw, signature, message) {
    const id = toHex(raw);
    if (!imported.has(id)) imported.set(id, subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]));
    try {
      return await subtle.verify({ name: "Ed25519" }, await imported.get(id), signature, message);
    } catch (_) {
      return false;
    }
  }
  F.ed25519Verify = ed25519Verify;

  // --- signed notes and checkpoints (C2SP signed-note, tlog-checkpoint) --------------------
  // Python's str.isspace() characters (ledger/tlog/checkpoint.py check_key_name), '+' and controls.
  const BAD_NAME = /[\x00-\x1f +\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
  function checkKeyName(name) {
    if (!name || BAD_NAME.test(name)) fail(`Key name ${JSON.stringify(name)} must be non-empty, without spaces or '+'.`);
  }
  function checkNoteText(text) {
    if (!text.endsWith("\n") || text.includes("\n\n") || text.startsWith("\n")) fail("A note's text must be non-empty lines, each ending in a newline.");
    if (/[\x00-\x09\x0b-\x1f]/.test(text)) fail("A note must not contain control characters other than newline.");
  }

  /** A signed note's text and its signature lines [{name, blob}]; structure only. */
  function parseNote(note) {
    if (typeof note !== "string") fail("The note must be text.");
    if (LONE_SURROGATE.test(note)) fail("The note is not valid UTF-8.");
    if (enc.encode(note).length > (1 << 20)) fail("The note is larger than 1048576 bytes.");
    const split = note.lastIndexOf("\n\n");
    if (split < 0) fail("The note has no blank line before its signatures.");
    const text = note.slice(0, split + 1), block = note.slice(split + 2);
    checkNoteText(text);
    if (!block.endsWith("\n")) fail("The note's last signature line does not end in a newline.");
    const lines = block.slice(0, -1).split("\n");
    if (lines.length > 100) fail("The note has more than 100 signature lines.");
    return { text, signatures: lines.map(signatureLine) };
  }

  function signatureLine(line) {
    if (!line.startsWith("\u2014 ")) fail("A signature line must start with an em dash and a space.");
    const rest = line.slice(2), space = rest.indexOf(" ");
    const name = space < 0 ? rest : rest.slice(0, space);
    checkKeyName(name);
    if (space < 0) fail(`The signature line of ${name} has no signature.`);
    const blob = b64Strict(rest.slice(space + 1), `The signature by ${name}`);
    if (blob.length < 5) fail(`The signature by ${name} is too short.`);
    return { name, blob };
  }

  function parseCheckpointText(text) {
    const lines = text.slice(0, -1).split("\n");
    if (lines.length < 3) fail("A checkpoint needs an origin, a tree size and a root hash line.");
    const [origin, sizeText, rootText, ...extensions] = lines;
    if (!origin.trim()) fail("The checkpoint's origin line is empty.");
    if (!/^(0|[1-9][0-9]{0,18})$/.test(sizeText) || BigInt(sizeText) > MAX_INT) {
      fail("The checkpoint's tree size must be a decimal number of at most 2^63-1 without leading zeros.");
    }
    const root = b64Strict(rootText, "The checkpoint's root hash");
    if (root.length !== 32) fail(`The checkpoint's root hash must be 32 bytes, not ${root.length}.`);
    let issuedAt = null;
    for (const line of extensions) {
      if (!line.startsWith("time ")) continue;
      if (issuedAt !== null) fail("The checkpoint has two time lines.");
      issuedAt = parseTime(line.slice(5), "The checkpoint's time");
    }
    return { origin, size: BigInt(sizeText), root, issuedAt, text };
  }

  /** A checkpoint signed by the ledger key current at its tree size (proofs.open_signed_checkpoint). */
  async function openSignedCheckpoint(note, keyring, what) {
    if (typeof note !== "string") fail(`${what} must be the text of a signed note.`);
    const origin = note.split("\n", 1)[0];
    if (keyring.origin !== null && origin !== keyring.origin) fail(`${what} is from log ${JSON.stringify(origin)}, not ${JSON.stringify(keyring.origin)}.`);
    try {
      const { text, signatures } = parseNote(note);
      // As ledger/tlog/checkpoint.py open_note: one trusted key per (name, key hash), the last
      // listed winning; lines of unknown keys are ignored, a bad one from a known key fails.
      const known = new Map();
      for (const key of keyring.keys) {
        const hash = (await sha256(concat(enc.encode(origin + "\n"), Uint8Array.of(1), key.raw))).slice(0, 4);
        known.set(origin + "\n" + toHex(hash), key);
      }
      let signedBy = null;
      for (const { name, blob } of signatures) {
        const key = known.get(name + "\n" + toHex(blob.slice(0, 4)));
        if (key === undefined) continue;
        if (!(await ed25519Verify(key.raw, blob.slice(4), enc.encode(text)))) fail(`The signature by ${name} does not verify: the note was altered.`);
        signedBy = signedBy || key;
      }
      if (signedBy === null) fail("The note carries no signature by any of the trusted public keys.");
      const checkpoint = parseCheckpointText(text);
      F.keyForSize(keyring, signedBy.keyId, checkpoint.size);
      return checkpoint;
    } catch (exc) {
      if (exc instanceof F.VerificationError && !exc.message.startsWith(what)) fail(`${what}: ${exc.message}`);
      throw exc;
    }
  }
  F.openSignedCheckpoint = openSignedCheckpoint;

  // --- witnesses (C2SP tlog-cosignature, cosignature/v1) -----------------------------------
  /** Witness keys from vkey lines (`<name>+<key id>+base64(0x04 ‖ key)`), as ledger/tlog/cosignature.py. */
  F.parseWitnessKeys = async function parseWitnessKeys(text) {
    const keys = [];
    for (const rawLine of text.split(/\r\n|\r|\n/)) {
      if (!rawLine.trim() || rawLine.trimStart().startsWith("#")) continue;
      const parts = rawLine.trim().split("+");
      if (parts.length < 3) fail("A witness key must read <name>+<key id>+<base64 key>.");
      const [name, keyId] = parts, material = parts.slice(2).join("+");
      checkKeyName(name);
      if (!/^[0-9a-f]{8}$/.test(keyId)) fail(`The key id of witness key ${name} must be 8 lower-case hex digits.`);
      const blob = b64Strict(material, `The key of witness ${name}`);
      if (blob.length !== 33 || blob[0] !== 4) fail(`Witness key ${name} is not a cosignature/v1 Ed25519 key (type 0x04 followed by 32 bytes).`);
      const raw = blob.slice(1);
      const id = (await sha256(concat(enc.encode(name + "\n"), Uint8Array.of(4), raw))).slice(0, 4);
      if (toHex(id) !== keyId) fail(`Witness key ${name} says key id ${keyId}, but its key has id ${toHex(id)}.`);
      keys.push({ name, raw, id });
    }
    if (!keys.length) fail("The witness key file holds no witness key.");
    return keys;
  };

  /** At least `quorum` (default: all) of `witnesses` cosigned `note`; returns their names. */
  async function checkWitnessed(note, witnesses, quorum) {
    const need = quorum ?? witnesses.length;
    try {
      if (!(need >= 1 && need <= witnesses.length)) fail(`The witness quorum must be between 1 and the ${witnesses.length} witness keys given.`);
      const { text, signatures } = parseNote(note);
      const found = new Map();
      for (const { name, blob } of signatures) {
        const key = witnesses.find((w) => w.name === name && same(w.id, blob.slice(0, 4)));
        if (!key) continue;
        if (blob.length !== 76) fail(`The cosignature by witness ${name} is not 76 bytes.`);
        const time = new DataView(blob.buffer, blob.byteOffset + 4, 8).getBigUint64(0);
        if (time < 1n || time > MAX_INT) fail(`The cosignature by witness ${name} has no valid time.`);
        const message = enc.encode(`cosignature/v1\ntime ${time}\n${text}`);
        if (!(await ed25519Verify(key.raw, blob.slice(12), message))) fail(`The cosignature by witness ${name} does not verify: the checkpoint was altered.`);
        if (!found.has(name + toHex(key.id))) found.set(name + toHex(key.id), name);
      }
      if (found.size < need) {
        fail(`The checkpoint carries ${found.size} of the ${need} required witness cosignatures; no witness vouched that this history was not rewritten.`);
      }
      return [...found.values()].sort();
    } catch (exc) {
      if (exc instanceof F.VerificationError) fail(`The checkpoint is not witnessed: ${exc.message}`);
      throw exc;
    }
  }
  F.checkWitnessed = checkWitnessed;

  root.FairsplitInternals = { concat, toHex, same, sha256, u32, parseTime, parseNote, MAX_INT, INCLUSION,
    BUNDLE, CONSISTENCY, DOCUMENT_FIELDS, ENTRY_FIELDS, SYSTEM_KINDS, ENCODING_FIELDS, CURRENCIES, TEXT, OPTIONAL, INT, TIME, HEX,
    LONE_SURROGATE, enc };
})(globalThis);
