/* A per-period balance bundle's `period` part, offline (ledger/tlog/period_proofs.py verify_period,
 * ledger/payouts/close_documents.py parse_close_entry, ledger/payouts/periods.py): per currency, the opening
 * balance a proven close entry of the period before states (0 without one), every entry of
 * the bundle counting in the period (occurred before its end, and in it or late: after the
 * close before it), and a proven closing entry stating opening + those entries as carried.
 * Periods are compared as the ledger's time strings (YYYY-MM-DDTHH:MM:SS.ffffffZ), which
 * order as their instants. */
"use strict";
(function (root) {
  const F = root.Fairsplit;
  const fail = F.fail;
  const MAX_MICROS = (1n << 63n) - 1n; // ledger/money.py MAX_MICROS
  const MAX_SYSTEM_MEMO = 64 << 10; // ledger/books/system_entries.py, in code points
  const CLOSE_TYPE = "fairsplit.period-close.v1";
  const CLOSE_FIELDS = ["type", "period", "currency", "account", "balance", "paid", "carried"];
  const PERIOD_FIELDS = ["id", "currencies"], CURRENCY_FIELDS = ["opening", "opening_entry", "closing_entry"];
  const DAY = 86400000;
  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof F.JsonFloat);
  const has = (obj, name) => Object.prototype.hasOwnProperty.call(obj, name);
  const exactly = (obj, names) => isObject(obj) && Object.keys(obj).length === names.length && names.every((n) => has(obj, n));

  // --- periods (ledger/payouts/periods.py): monthly 2026-11, ISO weekly 2026-W47, quarterly 2026-Q4 ---
  const pad = (n, width) => String(n).padStart(width, "0");
  /** Milliseconds of y-m-d 00:00 UTC (years 1 to 99 too, which Date.UTC would move to the 1900s). */
  function day(y, m, d) {
    const date = new Date(0);
    date.setUTCFullYear(y, m - 1, d);
    return date.getTime();
  }
  const yearOf = (ms) => new Date(ms).getUTCFullYear();
  const stamp = (ms) => { const d = new Date(ms); return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}T00:00:00.000000Z`; };
  /** A period from its cadence, id and [start, end) in ms; null where Python's datetime overflows (years 1 to 9999). */
  function period(cadence, id, start, end) {
    if (yearOf(start) < 1 || yearOf(end) > 9999) return null;
    return { cadence, id, startMs: start, start: stamp(start), end: stamp(end) };
  }
  const month = (y, m) => period("monthly", `${pad(y, 4)}-${pad(m, 2)}`, day(y, m, 1), day(y + Math.floor(m / 12), (m % 12) + 1, 1));
  const quarter = (y, q) => period("quarterly", `${pad(y, 4)}-Q${q}`, day(y, 3 * q - 2, 1), day(y + Math.floor(q / 4), (3 * q) % 12 + 1, 1));
  /** ISO week w of ISO year y (date.fromisocalendar: week 53 only in years that have it). */
  function week(y, w) {
    const jan1 = new Date(day(y, 1, 1)).getUTCDay(), leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    if (y < 1 || y > 9999 || w < 1 || w > 53 || (w === 53 && !(jan1 === 4 || (jan1 === 3 && leap)))) return null;
    const jan4 = day(y, 1, 4), monday = jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * DAY;
    const start = monday + (w - 1) * 7 * DAY;
    return period("weekly", `${pad(y, 4)}-W${pad(w, 2)}`, start, start + 7 * DAY);
  }
  /** The period an id names (parse_period), or null; only the id as the ledger writes it. */
  function parsePeriod(text) {
    if (typeof text !== "string") return null;
    let m;
    if ((m = /^([0-9]{4})-([0-9]{2})$/.exec(text))) return Number(m[1]) >= 1 && Number(m[2]) >= 1 && Number(m[2]) <= 12 ? month(Number(m[1]), Number(m[2])) : null;
    if ((m = /^([0-9]{4})-W([0-9]{2})$/.exec(text))) return week(Number(m[1]), Number(m[2]));
    if ((m = /^([0-9]{4})-Q([0-9])$/.exec(text))) return Number(m[1]) >= 1 && Number(m[2]) >= 1 && Number(m[2]) <= 4 ? quarter(Number(m[1]), Number(m[2])) : null;
    return null;
  }
  /** The period before (Period.previous), or null for the first one there is. */
  function previous(p) {
    const last = new Date(p.startMs - DAY); // the last day before p
    const y = last.getUTCFullYear(), m = last.getUTCMonth() + 1;
    if (y < 1) return null;
    if (p.cadence === "monthly") return month(y, m);
    if (p.cadence === "quarterly") return quarter(y, Math.floor((m - 1) / 3) + 1);
    const thursday = last.getTime() + (3 - ((last.getUTCDay() + 6) % 7)) * DAY; // its ISO week's Thursday
    const isoYear = yearOf(thursday);
    return week(isoYear, Math.floor((thursday - day(isoYear, 1, 1)) / (7 * DAY)) + 1);
  }

  // --- close entries (ledger/payouts/close_documents.py, ledger/books/system_entries.py) ----------------------
  /** A system entry's memo document, or null unless canonical JSON with a "type" string. */
  function systemMemo(memo) {
    if (typeof memo !== "string" || [...memo].length > MAX_SYSTEM_MEMO) return null;
    let document;
    try { document = F.parseStrictJson(memo, "The memo"); } catch (_) { return null; }
    if (typeof document.type !== "string") return null;
    return F.canonicalJson(document, true) === memo ? document : null;
  }
  /** The close an entry states ({period, currency, account, balance, paid, carried}), or null. */
  function closeEntry(row) {
    if (row.kind !== "close" || row.amount !== 0n) return null;
    const d = systemMemo(row.memo);
    if (d === null || !exactly(d, CLOSE_FIELDS) || d.type !== CLOSE_TYPE) return null;
    if (![d.balance, d.paid, d.carried].every((n) => typeof n === "bigint") || d.balance !== d.paid + d.carried) return null;
    // Not text, a period, currency or account can never be the one asked for: the same verdict as Python's.
    if (![d.period, d.currency, d.account].every((t) => typeof t === "string")) return null;
    if (row.event_id !== `close:${d.period}:${d.currency}:${d.account}` || row.currency !== d.currency) return null;
    return d;
  }
  function checkClose(row, account, currency, periodId, carried, where) {
    const entry = closeEntry(row);
    if (entry === null || entry.account !== account || entry.currency !== currency || entry.period !== periodId) {
      fail(`${where} entry is not the close of ${periodId} for ${account} in ${currency}.`);
    }
    if (entry.carried !== carried) fail(`${where} entry carried ${entry.carried}, not ${carried}.`);
  }

  /** verify_period: the bundle's `period` part against its verified entries `rows` and their
   * per-currency `totals`; `prove(part, where)` verifies one proven entry and returns its row.
   * Resolves to the balances (opening + totals) per currency of the part. */
  F.checkPeriod = async function checkPeriod(part, account, rows, totals, prove) {
    if (!exactly(part, PERIOD_FIELDS) || !isObject(part.currencies)) fail("The bundle's period must be an object with an id and its currencies.");
    const p = parsePeriod(part.id);
    if (p === null || p.id !== part.id) fail("The bundle's period id is not a period (e.g. 2026-11).");
    const currencies = part.currencies, names = Object.keys(currencies);
    if (!names.length || names.length > 200 || rows.some((row) => !has(currencies, row.currency))) {
      fail(`The bundle's ${p.id} part must name every currency of its entries.`);
    }
    const balances = {};
    for (const currency of names.sort(F.byCodePoint)) {
      const spec = currencies[currency], where = `The ${p.id} ${currency} opening`;
      if (!exactly(spec, CURRENCY_FIELDS)) fail(`${where} must hold opening, opening_entry and closing_entry.`);
      const opening = spec.opening;
      if (typeof opening !== "bigint" || opening > MAX_MICROS || -opening > MAX_MICROS) fail(`${where} must be an integer of micro-units.`);
      let after = 0n;
      if (spec.opening_entry === null) {
        if (opening !== 0n) fail(`${where} is ${opening}, but no signed close of the period before states it.`);
      } else {
        const row = await prove(spec.opening_entry, `${where} entry`);
        const before = previous(p);
        if (before === null) fail(`${where} entry cannot be the close of a period before ${p.id}: there is none.`);
        checkClose(row, account, currency, before.id, opening, where);
        after = row.seq;
      }
      for (const row of rows) {
        const late = row.seq > after && row.occurred_at < p.start;
        if (row.currency === currency && !(row.occurred_at < p.end && (row.occurred_at >= p.start || late))) {
          fail(`Entry seq ${row.seq} does not count in ${p.id}.`);
        }
      }
      balances[currency] = opening + (has(totals, currency) ? totals[currency] : 0n);
      if (spec.closing_entry !== null) {
        const row = await prove(spec.closing_entry, `The ${p.id} ${currency} closing entry`);
        checkClose(row, account, currency, p.id, balances[currency], `The ${p.id} ${currency} closing`);
      }
    }
    return balances;
  };
  F.PERIOD_INTERNALS = { parsePeriod, previous, closeEntry };
})(globalThis);
