/* The checks of a proof document (ledger/tlog/proofs.py, ledger/tlog/merkle.py), one function each,
 * and `verifyDocument`, which runs them in the Python verifier's order. To add a check for
 * a new field or format: write one function here, call it from `verifyDocument` (or from
 * `checkBundle` for a per-entry check) and add the field to DOCUMENT_FIELDS/ENTRY_FIELDS. */
"use strict";
(function (root) {
  const F = root.Fairsplit, I = root.FairsplitInternals;
  const fail = F.fail, { concat, toHex, same, sha256, u32, enc, MAX_INT } = I;
  const q = (value) => JSON.stringify(value);

  // --- typed access to parsed JSON (BigInt integers, JsonFloat others) ---------------------
  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof F.JsonFloat);
  const has = (obj, name) => Object.prototype.hasOwnProperty.call(obj, name);
  function get(obj, name, kind, where) {
    if (!isObject(obj) || !has(obj, name)) fail(`${where} lacks ${q(name)}.`);
    const value = obj[name];
    const ok = kind === "string" ? typeof value === "string" : kind === "int" ? typeof value === "bigint"
      : kind === "list" ? Array.isArray(value) : isObject(value);
    if (!ok) fail(`${where}: ${q(name)} has the wrong type.`);
    return value;
  }
  function getInt(obj, name, where) {
    const value = get(obj, name, "int", where);
    if (value < 0n || value > MAX_INT) fail(`${where}: ${q(name)} is out of range.`);
    return value;
  }
  function only(obj, allowed, where) {
    const unknown = Object.keys(obj).filter((k) => !allowed.includes(k)).sort();
    if (unknown.length) fail(`${where} has an unknown field ${q(unknown[0])}.`);
  }
  function hashes(items, where) {
    if (!Array.isArray(items) || items.length > 64) fail(`${where} must be a list of at most 64 base64 hashes.`);
    return items.map((item) => {
      if (typeof item !== "string") fail(`${where} holds something that is not a base64 hash.`);
      const digest = F.b64Strict(item, `${where} hash`);
      if (digest.length !== 32) fail(`${where} holds a hash that is not 32 bytes.`);
      return digest;
    });
  }

  // --- RFC 9162 Merkle verification (§2.1.3.2 inclusion, §2.1.4.2 consistency) -------------
  const leafHash = (entry) => sha256(concat(Uint8Array.of(0), entry));
  const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));
  function shiftWhileEven(fn, sn) {
    while (fn && !(fn & 1n)) { fn >>= 1n; sn >>= 1n; }
    return [fn, sn];
  }

  async function verifyInclusion(leaf, index, size, path, rootHash) {
    if (index >= size) fail(`Leaf index ${index} is not in a tree of size ${size}.`);
    let fn = index, sn = size - 1n, r = leaf;
    for (const p of path) {
      if (sn === 0n) fail("The inclusion proof is longer than the tree is deep.");
      if (fn & 1n || fn === sn) {
        r = await nodeHash(p, r);
        [fn, sn] = shiftWhileEven(fn, sn);
      } else {
        r = await nodeHash(r, p);
      }
      fn >>= 1n; sn >>= 1n;
    }
    if (sn !== 0n) fail("The inclusion proof is shorter than the tree is deep.");
    if (!same(r, rootHash)) fail(`The entry at index ${index} is not in the tree of size ${size} with this root hash.`);
  }

  async function verifyConsistency(oldSize, newSize, oldRoot, newRoot, path) {
    if (oldSize > newSize) fail(`Old tree size ${oldSize} is larger than new tree size ${newSize}: the log shrank.`);
    if (oldSize === 0n || oldSize === newSize) {
      if (path.length) fail("A consistency proof between these sizes must be empty.");
      if (oldSize === 0n && !same(oldRoot, await sha256(new Uint8Array(0)))) fail("The old root hash is not the hash of the empty tree.");
      if (oldSize === newSize && !same(oldRoot, newRoot)) fail(`Two different root hashes for the same tree size ${oldSize}: the log forked.`);
      return;
    }
    if (!path.length) fail("The consistency proof is empty.");
    if ((oldSize & (oldSize - 1n)) === 0n) path = [oldRoot, ...path];
    let fn = oldSize - 1n, sn = newSize - 1n;
    while (fn & 1n) { fn >>= 1n; sn >>= 1n; }
    let fr = path[0], sr = path[0];
    for (const c of path.slice(1)) {
      if (sn === 0n) fail("The consistency proof is longer than the tree is deep.");
      if (fn & 1n || fn === sn) {
        fr = await nodeHash(c, fr); sr = await nodeHash(c, sr);
        [fn, sn] = shiftWhileEven(fn, sn);
      } else {
        sr = await nodeHash(sr, c);
      }
      fn >>= 1n; sn >>= 1n;
    }
    if (sn !== 0n) fail("The consistency proof is shorter than the tree is deep.");
    if (!same(fr, oldRoot)) fail(`The proof does not lead to the old root hash: the first ${oldSize} entries were rewritten.`);
    if (!same(sr, newRoot)) fail(`The proof does not lead to the new root hash of the tree of size ${newSize}.`);
  }

  // --- one ledger entry ----------------------------------------------------------------------
  const PART_FIELDS = ["entry", "leaf_index", "inclusion_path"];
  function entryRow(obj, where) {
    if (!isObject(obj)) fail(`${where} must be an object.`);
    const unknown = Object.keys(obj).filter((k) => !has(I.ENTRY_FIELDS, k)).sort();
    if (unknown.length) fail(`${where} has unknown field ${q(unknown[0])}.`);
    const row = {};
    for (const [name, kind] of Object.entries(I.ENTRY_FIELDS)) {
      if (kind === I.OPTIONAL && (has(obj, name) ? obj[name] : "") === null) row[name] = null;
      else if (kind === I.INT) row[name] = getInt(obj, name, where);
      else row[name] = checkedText(get(obj, name, "string", where), name, kind, where);
    }
    if (row.version !== 1n) fail(`${where} uses entry encoding version ${row.version}, which this verifier does not know.`);
    if (row.seq < 1n || row.amount < (I.SYSTEM_KINDS.includes(row.kind) ? 0n : 1n)) {
      fail(`${where}: seq and amount must be positive (amount 0 only for a log entry of kind key or close).`);
    }
    return row;
  }
  function checkedText(value, name, kind, where) {
    if (I.LONE_SURROGATE.test(value)) fail(`${where}: ${q(name)} is not valid Unicode text.`);
    if (kind === I.TIME) return I.parseTime(value, `${where}: ${q(name)}`);
    if (kind === I.HEX && !/^(?:[0-9a-f]{2})*$/.test(value)) fail(`${where}: ${q(name)} must be lower-case hex.`);
    return value;
  }

  /** The canonical bytes of a row (ledger/books/encoding.py, version 1): length-prefixed UTF-8 fields. */
  function encodeRow(row) {
    const parts = [u32(21), enc.encode("fairsplit.transfer.v1")];
    for (const name of I.ENCODING_FIELDS) {
      const value = row[name];
      if (value === null) { parts.push(Uint8Array.of(255, 255, 255, 255)); continue; }
      const data = enc.encode(String(value));
      parts.push(u32(data.length), data);
    }
    return concat(...parts);
  }
  F.encodeRow = encodeRow;

  /** One {"entry", "leaf_index", "inclusion_path"}: hash, signature by the key whose seq range holds it, inclusion. */
  async function verifyEntry(part, checkpoint, keyring, where, fields) {
    const row = entryRow(get(part, "entry", "object", where), `${where} entry`);
    if (fields) only(part, fields, where);
    where = `${where} (seq ${row.seq})`;
    if (getInt(part, "leaf_index", where) !== row.seq - 1n) fail(`${where}: leaf_index must be seq - 1.`);
    const path = hashes(get(part, "inclusion_path", "list", where), `${where} inclusion_path`);
    const encoding = encodeRow(row);
    const digest = await sha256(encoding);
    if (toHex(digest) !== row.hash) fail(`${where}: the entry's fields do not match its hash; it was altered.`);
    let key;
    try { key = F.keyForEntry(keyring, row.key_id, row.seq); } catch (exc) { fail(`${where}: ${exc.message}`); }
    const signature = Uint8Array.from(row.signature.match(/../g) || [], (h) => parseInt(h, 16));
    if (!(await F.ed25519Verify(key.raw, signature, digest))) fail(`${where}: the entry's signature by key ${row.key_id} does not verify.`);
    try {
      await verifyInclusion(await leafHash(encoding), row.seq - 1n, checkpoint.size, path, checkpoint.root);
    } catch (exc) {
      if (exc instanceof F.VerificationError) fail(`${where}: ${exc.message}`);
      throw exc;
    }
    return row;
  }

  // --- money ---------------------------------------------------------------------------------
  function formatAmount(micros, currency) {
    if (!has(I.CURRENCIES, currency)) fail(`The bundle has an amount in an unknown currency: Unknown currency ${q(currency)}: expected an ISO 4217 code such as 'USD'.`);
    const sign = micros < 0n ? "-" : "", abs = micros < 0n ? -micros : micros;
    let decimals = (abs % 1000000n).toString().padStart(6, "0").replace(/0+$/, "");
    if (decimals.length < I.CURRENCIES[currency]) decimals = decimals.padEnd(I.CURRENCIES[currency], "0");
    return `${sign}${abs / 1000000n}${decimals ? "." + decimals : ""}`;
  }
  F.formatAmount = formatAmount;
  const show = (balances) => Object.keys(balances).sort().map((c) =>
    has(I.CURRENCIES, c) ? `${formatAmount(balances[c], c)} ${c}` : `${balances[c]} micro-units of ${q(c)}`).join(", ");
  const nonZero = (balances) => Object.keys(balances).filter((c) => balances[c] !== 0n).sort()
    .map((c) => `${c}=${balances[c]}`).join(",");

  /** A balance bundle: every entry proven, each moving money into or out of the account, and
   * the claimed (and displayed) balances exactly the entries' sum. */
  async function checkBundle(document, checkpoint, keyring, result) {
    const account = get(document, "account", "string", "The bundle");
    const claimed = get(document, "balances", "object", "The bundle");
    const parts = get(document, "entries", "list", "The bundle");
    let totals = {};
    const seen = new Set(), rows = [];
    for (let n = 0; n < parts.length; n += 1) {
      const row = await verifyEntry(parts[n], checkpoint, keyring, `Bundle entry ${n}`, PART_FIELDS);
      rows.push(row);
      if (seen.has(row.seq)) fail(`Entry seq ${row.seq} appears twice in the bundle.`);
      seen.add(row.seq);
      const sign = row.credit_account === account ? 1n : row.debit_account === account ? -1n : 0n;
      if (!sign) fail(`Entry seq ${row.seq} does not move money into or out of ${account}.`);
      totals[row.currency] = (totals[row.currency] ?? 0n) + sign * row.amount;
    }
    if (has(document, "period")) { // a per-period bundle: opening (signed close) + the period's entries (fs-period.js)
      totals = await F.checkPeriod(document.period, account, rows, totals, (part, where) => verifyEntry(part, checkpoint, keyring, where, PART_FIELDS));
      result.lines.push(`${document.period.id} opens with the balances the close before it carried`);
    }
    for (const currency of Object.keys(claimed)) {
      if (typeof claimed[currency] !== "bigint") fail(`The bundle's ${currency} balance must be an integer of micro-units.`);
    }
    if (nonZero(claimed) !== nonZero(totals)) fail(`The bundle claims balances ${show(claimed)}, but its proven entries add up to ${show(totals)}.`);
    if (has(document, "display")) {
      const expected = Object.fromEntries(Object.keys(totals).sort().map((c) => [c, formatAmount(totals[c], c)]));
      const display = document.display;
      const agrees = isObject(display) && Object.keys(display).length === Object.keys(expected).length
        && Object.keys(expected).every((c) => has(display, c) && display[c] === expected[c]);
      if (!agrees) fail("The bundle's displayed balances do not match its proven entries.");
    }
    result.account = account;
    result.balances = Object.fromEntries(Object.keys(totals).sort().map((c) => [c, totals[c]]));
    result.entries = parts.length;
    result.lines.push(`${parts.length} entries of ${account} are in the log; balance ${show(totals) || "0"}`);
    // every reward bound to its signed evidence (fs-evidence.js, ledger/evidence/offline.py)
    result.lines.push(await F.checkBundleEvidence(document, rows, (part, where) => verifyEntry(part, checkpoint, keyring, where, PART_FIELDS)));
  }
  F.checkBundle = checkBundle;

  /** {"old_size", "old_root", "consistency_path"} proves an older head is a prefix of `current`. */
  async function checkConsistencyPart(part, current) {
    const where = "The consistency proof";
    if (!isObject(part)) fail(`${where} must be an object.`);
    only(part, ["old_size", "old_root", "consistency_path"], where);
    const oldSize = getInt(part, "old_size", where);
    const oldRoot = hashes([get(part, "old_root", "string", where)], `${where} old_root`)[0];
    const path = hashes(get(part, "consistency_path", "list", where), `${where} path`);
    try {
      await verifyConsistency(oldSize, current.size, oldRoot, current.root, path);
    } catch (exc) {
      if (exc instanceof F.VerificationError) fail(`${where}: ${exc.message}`);
      throw exc;
    }
    return { size: oldSize, root: oldRoot };
  }

  /** The kept checkpoint is the current one, or the proven older head the log grew from. */
  function checkGrewFrom(kept, current, since) {
    if (kept.origin !== current.origin) fail(`The kept checkpoint is from log ${q(kept.origin)}, not ${q(current.origin)}.`);
    if (kept.size > current.size) fail(`The document's checkpoint (size ${current.size}) is older than the kept one (size ${kept.size}); ask for a fresh proof.`);
    if (kept.size === current.size) {
      if (!same(kept.root, current.root)) fail(`Two different root hashes for tree size ${kept.size}: the log was rewritten.`);
      return `same tree as the kept checkpoint (size ${kept.size})`;
    }
    if (since === null || since.size !== kept.size) fail(`The document has no consistency proof from the kept checkpoint (size ${kept.size}); ask for one with --since ${kept.size}.`);
    if (!same(since.root, kept.root)) fail(`The log's first ${kept.size} entries differ from the kept checkpoint's: the log was rewritten.`);
    return `the log only grew since the kept checkpoint (size ${kept.size} -> ${current.size})`;
  }

  /** Verify a proof document's text against a parsed keyring; options: {kept: note text,
   * witnesses: parsed witness keys, quorum}. Resolves to what it proved; rejects with a
   * VerificationError (one sentence) when anything fails. */
  F.verifyDocument = async function verifyDocument(text, keyring, options = {}) {
    const document = F.parseStrictJson(text, "The document");
    const format = document.format;
    if (typeof format !== "string" || !has(I.DOCUMENT_FIELDS, format)) fail(`Unknown document format ${q(format ?? null)}; expected one of fairsplit's proof formats.`);
    only(document, I.DOCUMENT_FIELDS[format], "The document");
    const checkpoint = await F.openSignedCheckpoint(document.checkpoint, keyring, "The checkpoint");
    const result = { format, checkpoint, lines: [`checkpoint of ${checkpoint.origin} at tree size ${checkpoint.size} is signed by the ledger`], witnesses: [] };
    if (options.witnesses && options.witnesses.length) {
      result.witnesses = await F.checkWitnessed(document.checkpoint, options.witnesses, options.quorum);
      result.lines.push(`it is cosigned by ${result.witnesses.length} witness${result.witnesses.length > 1 ? "es" : ""} (${result.witnesses.join(", ")})`);
    }
    let old = null;
    if (format === I.INCLUSION) {
      const row = await verifyEntry(document, checkpoint, keyring, "The proof", null);
      result.lines.push(`entry seq ${row.seq} (transfer ${row.id}) is in the log`);
    } else if (format === I.BUNDLE) {
      await checkBundle(document, checkpoint, keyring, result);
    } else {
      old = await F.openSignedCheckpoint(document.old_checkpoint, keyring, "The old checkpoint");
      if (old.origin !== checkpoint.origin) fail("The two checkpoints are from different logs.");
      if (!has(document, "consistency")) fail("The document lacks 'consistency'.");
    }
    let since = null;
    if (has(document, "consistency")) {
      since = await checkConsistencyPart(document.consistency, checkpoint);
      result.lines.push(`the log of size ${since.size} is a prefix of the log of size ${checkpoint.size}`);
    }
    if (old !== null && !(since.size === old.size && same(since.root, old.root))) fail("The consistency proof does not start at the old checkpoint's tree head.");
    if (options.kept) {
      const kept = await F.openSignedCheckpoint(keptNote(options.kept), keyring, "The kept checkpoint");
      result.lines.push(checkGrewFrom(kept, checkpoint, since));
    }
    return result;
  };

  /** A kept checkpoint: a signed note, or a proof document holding one. */
  function keptNote(text) {
    if (!text.trimStart().startsWith("{")) return text;
    return F.parseStrictJson(text, "The kept checkpoint file").checkpoint;
  }
})(globalThis);
