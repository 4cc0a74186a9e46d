/* A balance bundle's rewards against their signed evidence, offline (ledger/evidence/offline.py,
 * ledger/evidence/rewards.py, ledger/keys/trusted.py): the bundle's `key_entries`, each proven under
 * its checkpoint, rebuild which platform and worker keys the log trusted at which seqs; each
 * reward names its evidence in its memo (`evidence:sha256:<digest>`), a canonical JSON
 * worker-signed result carrying the platform-signed event, and pays its payee exactly that
 * payee's largest-remainder part of the reward. Rewards without evidence pass only at or
 * before the proven evidence start. Every evidence document must serve an entry. */
"use strict";
(function (root) {
  const F = root.Fairsplit, I = root.FairsplitInternals;
  const { sha256, toHex, concat, enc, MAX_INT, CURRENCIES } = I;
  /** An EvidenceError or KeyEntryError as proofs.py words it: capitalised, one final period. */
  const fail = (message) => F.fail(`${message[0].toUpperCase()}${message.slice(1).replace(/\.+$/, "")}.`);
  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof F.JsonFloat);
  const has = (obj, name) => Object.prototype.hasOwnProperty.call(obj, name);
  const exactly = (obj, names) => isObject(obj) && Object.keys(obj).length === names.length && names.every((n) => has(obj, n));
  const get = (obj, name) => (isObject(obj) && has(obj, name) ? obj[name] : null);

  const PLATFORM_KEY = "fairsplit.platform-key.v1", SERVICE_KEY = "fairsplit.service-key.v1";
  const EVIDENCE_START = "fairsplit.evidence-start.v1", WORKER_ROLE = "attribution-worker";
  const ACCOUNTS = { [PLATFORM_KEY]: "ledger:platform-keys", [SERVICE_KEY]: "ledger:service-keys", [EVIDENCE_START]: "ledger:evidence" };
  const FIELDS = {
    [PLATFORM_KEY]: ["type", "action", "platform_id", "key_id", "public_key", "reason"],
    [SERVICE_KEY]: ["type", "action", "role", "key_id", "public_key", "reason"],
    [EVIDENCE_START]: ["type", "through_seq", "legacy_rewards"],
  };
  const MAX_KEY_ENTRIES = 100000, MAX_MEMO_BYTES = 2000, MAX_DOCUMENT_BYTES = 24 * 1024 * 1024;
  const MAX_EVENT_REWARD = 1000000n * 1000000n;
  const SLUG = /^[a-z0-9][a-z0-9._-]{0,63}$/, EVENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  const MEMO = /^evidence:sha256:([0-9a-f]{64})$/;
  const ATTRIBUTION_NAMESPACE = "5b0e8c5e3f574d0c9a432a8f6e1c7d20";
  const fromHex = (hex) => Uint8Array.from(hex.match(/../g) || [], (h) => parseInt(h, 16));

  // --- Python semantics the checks rely on ----------------------------------------------------
  /** Python's == on parsed JSON (1 == 1.0 == True). */
  function pyEqual(a, b) {
    const num = (v) => (typeof v === "boolean" ? BigInt(v) : v);
    a = num(a); b = num(b);
    const numeric = (v) => typeof v === "bigint" || v instanceof F.JsonFloat;
    if (numeric(a) && numeric(b)) {
      if (typeof a === "bigint" && typeof b === "bigint") return a === b;
      if (a instanceof F.JsonFloat && b instanceof F.JsonFloat) return a.value === b.value;
      const [big, float] = typeof a === "bigint" ? [a, b.value] : [b, a.value];
      return Number.isInteger(float) && BigInt(float) === big;
    }
    if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, k) => pyEqual(x, b[k]));
    if (isObject(a) || isObject(b)) {
      return isObject(a) && isObject(b) && Object.keys(a).length === Object.keys(b).length
        && Object.keys(a).every((k) => has(b, k) && pyEqual(a[k], b[k]));
    }
    return a === b;
  }
  /** Python's str() of a scalar, as an f-string writes it. */
  function pyStr(v) {
    if (v === null) return "None";
    if (typeof v === "boolean") return v ? "True" : "False";
    if (typeof v === "bigint" || typeof v === "string") return String(v);
    if (v instanceof F.JsonFloat) return F.floatRepr(v.value);
    return "\u0000(a container)";
  }
  /** A float's exact value as [numerator, denominator] (Python's Fraction(float)). */
  function exactFraction(x) {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, x);
    const bits = view.getBigUint64(0), exponent = Number((bits >> 52n) & 0x7ffn);
    let mantissa = bits & ((1n << 52n) - 1n), shift = exponent - 1075;
    if (exponent) mantissa |= 1n << 52n; else shift = -1074;
    return shift >= 0 ? [mantissa << BigInt(shift), 1n] : [mantissa, 1n << BigInt(-shift)];
  }
  /** ledger/money.py split_largest_remainder with [numerator, denominator] weights, in order. */
  function splitLargestRemainder(total, weights) {
    const common = weights.reduce((d, [, [, den]]) => (den > d ? den : d), 1n); // denominators are powers of two
    const scaled = weights.map(([key, [num, den]]) => [key, num * (common / den)]);
    const sum = scaled.reduce((s, [, w]) => s + w, 0n);
    if (sum === 0n) F.fail("The document could not be checked (MoneyError).");
    const parts = new Map(), remainders = [];
    scaled.forEach(([key, w], position) => {
      parts.set(key, (total * w) / sum);
      remainders.push([(total * w) % sum, position, key]);
    });
    let leftover = total - [...parts.values()].reduce((s, p) => s + p, 0n);
    remainders.sort((x, y) => (x[0] === y[0] ? x[1] - y[1] : x[0] > y[0] ? -1 : 1));
    for (const [, , key] of remainders) { if (leftover <= 0n) break; parts.set(key, parts.get(key) + 1n); leftover -= 1n; }
    return parts;
  }
  /** ledger/money.py parse_amount; null where it raises. */
  function parseAmount(text, currency, maximum) {
    if (typeof currency !== "string" || !has(CURRENCIES, currency) || typeof text !== "string") return null;
    const m = text.length <= 40 ? /^(0|[1-9][0-9]*)(?:\.([0-9]{1,6}))?$/.exec(text) : null;
    if (!m) return null;
    const micros = BigInt(m[1]) * 1000000n + BigInt((m[2] || "").padEnd(6, "0"));
    return micros > maximum ? null : micros;
  }
  /** Microseconds since the epoch of a time with an offset (Python's datetime.fromisoformat, the
   * extended and basic calendar forms); null without an offset or when not a real time. */
  function isoInstant(text) {
    const m = typeof text === "string" && /^(\d{4})-?(\d{2})-?(\d{2})[T ](\d{2})(?::?(\d{2})(?::?(\d{2})(?:[.,](\d{1,6}))?)?)?(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2}(?:\.\d{1,6})?)?)?)$/.exec(text.toUpperCase());
    if (!m) return null;
    const [y, mo, d, h, mi = "0", s = "0"] = m.slice(1, 7), fraction = (m[7] || "").padEnd(6, "0");
    const date = new Date(0);
    date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
    if (Number(y) < 1 || date.getUTCFullYear() !== Number(y) || date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d)
        || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return null;
    date.setUTCHours(Number(h), Number(mi), Number(s), 0);
    let offset = 0n;
    if (m[8] !== "Z") {
      const o = /^([+-])(\d{2}):?(\d{2})?:?(\d{2})?(?:\.(\d{1,6}))?$/.exec(m[8]);
      const micros = ((BigInt(o[2]) * 60n + BigInt(o[3] || "0")) * 60n + BigInt(o[4] || "0")) * 1000000n + BigInt((o[5] || "").padEnd(6, "0"));
      if (micros >= 86400000000n) return null;
      offset = o[1] === "-" ? -micros : micros;
    }
    return BigInt(date.getTime()) * 1000n + BigInt(fraction) - offset;
  }
  /** uuid5(namespace, name) as Python's uuid writes it. */
  async function uuid5(namespaceHex, name) {
    const digest = new Uint8Array(await root.crypto.subtle.digest("SHA-1", concat(fromHex(namespaceHex), enc.encode(name)))).slice(0, 16);
    digest[6] = (digest[6] & 0x0f) | 0x50;
    digest[8] = (digest[8] & 0x3f) | 0x80;
    const hex = toHex(digest);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  /** ledger/crypto.py verify_record: base64 Ed25519 over the canonical JSON without "signature". */
  async function verifyRecord(record, raw) {
    const encoded = record.signature;
    if (typeof encoded !== "string" || encoded.length % 4 || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) return false;
    let signature;
    try { signature = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0)); } catch (_) { return false; }
    if (signature.length !== 64) return false;
    return F.ed25519Verify(raw, signature, enc.encode(F.canonicalJson(record, true)));
  }

  // --- the platform and worker key history (ledger/keys/trusted.py TrustedKeys) ---------------
  function memoDocument(row) {
    const memo = row.memo;
    if (typeof memo !== "string" || enc.encode(memo).length > MAX_MEMO_BYTES) fail("a key entry's memo must be a canonical JSON document");
    let document;
    try { document = F.parseStrictJson(memo, "The memo"); } catch (_) { fail("a key entry's memo is not a JSON object"); }
    if (has(document, "signature") || F.canonicalJson(document, true) !== memo) fail("a key entry's memo is not in canonical JSON");
    return document;
  }
  const count = (v) => typeof v === "bigint" && v >= 0n && v <= MAX_INT;

  async function applyKeyEntry(keys, row) {
    if (row.seq <= keys.lastSeq) fail(`key entries must come in seq order (${row.seq} after ${keys.lastSeq})`);
    keys.lastSeq = row.seq;
    const document = memoDocument(row), kind = document.type;
    if (typeof kind !== "string" || !has(FIELDS, kind)) return;
    if (!exactly(document, FIELDS[kind])) fail(`a ${kind} entry must have exactly the fields ${[...FIELDS[kind]].sort().join(", ")}`);
    if (row.amount !== 0n || row.currency !== "XXX" || row.debit_account !== "ledger:keys" || row.credit_account !== ACCOUNTS[kind]) {
      fail(`a ${kind} entry moves 0 XXX from ledger:keys to ${ACCOUNTS[kind]}`);
    }
    if (kind === EVIDENCE_START) {
      if (keys.evidenceStart !== null) fail(`a second evidence start (the first is seq ${keys.evidenceStart})`);
      const through = document.through_seq, legacy = document.legacy_rewards;
      if (!(count(through) && count(legacy)) || through !== row.seq - 1n || row.event_id !== "evidence-start") {
        fail("the evidence start must be through_seq = its seq - 1, with a legacy_rewards count");
      }
      keys.evidenceStart = row.seq; keys.legacyThrough = through;
      return;
    }
    const [owner, holderField] = kind === PLATFORM_KEY ? ["platform", "platform_id"] : ["service", "role"];
    const holder = document[holderField], action = document.action, ident = document.key_id, reason = document.reason;
    if (!["add", "revoke"].includes(action) || typeof reason !== "string" || !([...reason].length > 0 && [...reason].length <= 500)) {
      fail(`a ${kind} entry needs an action (add or revoke) and a reason`);
    }
    if (!(owner === "platform" ? typeof holder === "string" && SLUG.test(holder) : holder === WORKER_ROLE)) fail(`a ${kind} entry names an invalid ${holderField}`);
    const hex = document.public_key;
    if (typeof hex !== "string" || !/^[0-9a-f]{64}$/.test(hex) || toHex(await sha256(fromHex(hex))).slice(0, 16) !== ident) {
      fail("a key entry's public_key must be 32 bytes of lower-case hex whose id is its key_id");
    }
    if (row.event_id !== `${owner}-key:${ident}:${action}`) fail(`a ${kind} entry must have event id ${owner}-key:<key_id>:${action}`);
    const known = keys.byId.get(ident);
    if (action === "add") {
      if (known) fail(`key ${ident} is added twice (first for ${known.owner} ${known.holder})`);
      keys.byId.set(ident, { owner, holder, raw: fromHex(hex), added: row.seq, revoked: null });
      return;
    }
    if (!known || known.owner !== owner || known.holder !== holder || known.revoked !== null) fail(`key ${ident} is revoked without being an active key of ${holder}`);
    known.revoked = row.seq;
  }
  const validAt = (key, seq) => key.added < seq && (key.revoked === null || seq < key.revoked);

  async function keyHistory(parts, prove) {
    if (!Array.isArray(parts) || parts.length > MAX_KEY_ENTRIES) fail(`the bundle's key_entries must be a list of at most ${MAX_KEY_ENTRIES} proven entries`);
    const rows = [];
    for (let n = 0; n < parts.length; n += 1) rows.push(await prove(parts[n], `Key entry ${n}`));
    rows.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
    const keys = { byId: new Map(), evidenceStart: null, legacyThrough: 0n, lastSeq: 0n };
    for (const row of rows) {
      if (row.kind !== "key") fail(`key entry seq ${row.seq} is not a key entry`);
      await applyKeyEntry(keys, row);
    }
    return keys;
  }

  // --- evidence documents (ledger/evidence/rewards.py) ---------------------------------------------------
  async function openDocument(document, digest) {
    const where = `evidence ${digest.slice(0, 16)}`;
    if (typeof document !== "string" || toHex(await sha256(enc.encode(document))) !== digest) fail(`${where} does not hash to its digest`);
    let result;
    try {
      if (document.length > MAX_DOCUMENT_BYTES) F.fail("too large");
      result = F.parseStrictJson(document, "The evidence");
    } catch (_) { fail(`${where} is not a JSON object`); }
    if (F.canonicalJson(result) !== document) fail(`${where} is not in canonical JSON`);
    const event = get(result, "event");
    if (result.schema !== "fairsplit.attribution.v1" || !isObject(event)) fail(`${where} is not an attribution result carrying its event`);
    if (event.schema !== "fairsplit.generation.v1") fail(`${where} does not carry a generation event`);
    const shares = get(result, "shares"), reward = get(event, "reward"), styles = get(event, "styles"), model = get(event, "model");
    if (!(isObject(shares) && isObject(reward) && Array.isArray(styles) && isObject(model) && styles.every(isObject))) fail(`${where} lacks the shares, reward, model or styles`);
    const weights = [];
    for (const [account, share] of Object.entries(shares)) {
      const value = typeof share === "bigint" ? Number(share) : share instanceof F.JsonFloat ? share.value : NaN;
      if (!(value >= 0 && value <= 1)) fail(`${where} has a share that is not a number from 0 to 1`);
      if (value > 0) weights.push([account, typeof share === "bigint" ? [share, 1n] : exactFraction(value)]);
    }
    const players = new Set([`model:${pyStr(get(model, "id"))}`, ...styles.map((s) => `artist:${pyStr(get(s, "artist_id"))}`)]);
    if (!Object.keys(shares).every((a) => players.has(a))) fail(`${where} pays an account that is not the event's model or one of its artists`);
    const eventId = get(event, "event_id"), platformId = get(event, "platform_id");
    if (!(typeof eventId === "string" && EVENT_ID.test(eventId)) || !(typeof platformId === "string" && SLUG.test(platformId))) fail(`${where} has an invalid event id or platform id`);
    const eventSha256 = toHex(await sha256(enc.encode(F.canonicalJson(event, true))));
    const agrees = pyEqual(get(result, "event_id"), eventId) && pyEqual(get(result, "platform_id"), platformId)
      && pyEqual(get(result, "reward"), reward) && pyEqual(get(result, "occurred_at"), get(event, "occurred_at"))
      && pyEqual(get(result, "event_sha256"), eventSha256)
      && pyEqual(get(result, "attribution_id"), await uuid5(ATTRIBUTION_NAMESPACE, `${eventId}|${eventSha256}`));
    if (!agrees) fail(`${where}: the result does not say what the platform's event says`);
    const amount = parseAmount(get(reward, "amount"), get(reward, "currency"), MAX_EVENT_REWARD);
    if (amount === null || amount <= 0n) fail(`${where} has no valid reward`);
    if (typeof result.worker_key_id !== "string") fail(`${where} names no worker key`);
    const occurredAt = isoInstant(get(event, "occurred_at"));
    if (occurredAt === null) fail(`${where} has no valid occurred_at`);
    return { digest, where, result, event, eventId, platformId, occurredAt, currency: reward.currency, amount,
      attributionId: result.attribution_id, workerKeyId: result.worker_key_id,
      payments: () => new Map([...splitLargestRemainder(amount, weights)].filter(([, part]) => part > 0n)) };
  }

  async function checkSignatures(evidence, keys, seq) {
    const worker = keys.byId.get(evidence.workerKeyId);
    if (!worker || worker.owner !== "service" || worker.holder !== WORKER_ROLE || !validAt(worker, seq)) {
      fail(`${evidence.where} is signed by worker key '${evidence.workerKeyId.slice(0, 16)}', which the log does not show enrolled and unrevoked at this point`);
    }
    if (!(await verifyRecord(evidence.result, worker.raw))) fail(`${evidence.where}: the worker's signature does not verify`);
    for (const key of keys.byId.values()) {
      if (key.owner === "platform" && key.holder === evidence.platformId && validAt(key, seq) && (await verifyRecord(evidence.event, key.raw))) return;
    }
    fail(`${evidence.where}: the event is not signed by a key the log shows active for platform ${evidence.platformId} at this point`);
  }

  function checkRow(evidence, row) {
    const instant = isoInstant(row.occurred_at);
    if (row.kind !== "reward" || row.event_id !== evidence.eventId || !pyEqual(row.attribution_id, evidence.attributionId)
        || row.debit_account !== `platform:${evidence.platformId}` || row.currency !== evidence.currency
        || instant !== evidence.occurredAt || row.memo !== `evidence:sha256:${evidence.digest}`) {
      fail(`reward at seq ${row.seq} is not a reward of the event in ${evidence.where}`);
    }
    if (evidence.payments().get(row.credit_account) !== row.amount) fail(`reward at seq ${row.seq} pays ${row.credit_account} other than the split in ${evidence.where} says`);
  }

  /** The bundle's rewards bound to their evidence; returns the line saying so (evidence_proofs.check_bundle_evidence). */
  F.checkBundleEvidence = async function checkBundleEvidence(document, rows, prove) {
    const keys = await keyHistory(has(document, "key_entries") ? document.key_entries : [], prove);
    const items = has(document, "evidence") ? document.evidence : [];
    if (!Array.isArray(items)) fail("the bundle's evidence must be a list");
    const evidence = new Map();
    for (const item of items) {
      if (!exactly(item, ["digest", "document"]) || typeof item.digest !== "string") fail('each evidence item must be exactly {"digest", "document"}');
      if (evidence.has(item.digest)) fail(`evidence ${item.digest.slice(0, 16)} appears twice in the bundle`);
      evidence.set(item.digest, await openDocument(item.document, item.digest));
    }
    const used = new Set();
    let bound = 0, legacy = 0;
    for (const row of rows) {
      if (row.kind !== "reward") continue;
      const m = typeof row.memo === "string" ? MEMO.exec(row.memo) : null;
      if (!m) {
        if (keys.evidenceStart === null || row.seq > keys.legacyThrough) fail(`entry seq ${row.seq} is a reward without evidence`);
        legacy += 1;
        continue;
      }
      const found = evidence.get(m[1]);
      if (!found) fail(`entry seq ${row.seq} names evidence ${m[1].slice(0, 16)}, which the bundle does not carry`);
      await checkSignatures(found, keys, row.seq);
      checkRow(found, row);
      used.add(m[1]);
      bound += 1;
    }
    if ([...evidence.keys()].some((d) => !used.has(d))) fail("the bundle carries evidence no entry of it is paid by");
    return `${bound} rewards are bound to a platform-signed event and a worker-signed result` + (legacy ? `; ${legacy} legacy rewards predate evidence` : "");
  };
  F.EVIDENCE_INTERNALS = { pyEqual, exactFraction, splitLargestRemainder, isoInstant, uuid5 };
})(globalThis);
