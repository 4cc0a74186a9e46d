/* Strict JSON for hostile input, as ledger/strictjson.py reads it: one object, no repeated
 * key, no NaN/Infinity, no control character in a string, bounded depth. Integer literals
 * become BigInt (exact at any size, as Python's int); numbers with a fraction or an
 * exponent become JsonFloat, so "1.0" is never taken for the integer 1. */
"use strict";
(function (root) {
  const F = root.Fairsplit = root.Fairsplit || {};

  class VerificationError extends Error {}
  F.VerificationError = VerificationError;
  F.fail = function fail(message) { throw new VerificationError(message); };

  class JsonFloat { constructor(value) { this.value = value; } }
  F.JsonFloat = JsonFloat;

  const MAX_DEPTH = 900; // Python's json stops near its recursion limit (1000)
  const ESCAPES = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

  F.parseStrictJson = function parseStrictJson(text, what) {
    let i = 0;
    const bad = (why) => F.fail(`${what} is not valid JSON (${why}).`);
    const ws = () => { while (i < text.length && " \t\n\r".includes(text[i])) i += 1; };
    function value(depth) {
      if (depth > MAX_DEPTH) F.fail(`${what} is nested too deeply.`);
      ws();
      const c = text[i];
      if (c === "{") return object(depth);
      if (c === "[") return array(depth);
      if (c === '"') return string();
      if (c === "-" || (c >= "0" && c <= "9")) return number();
      for (const [word, result] of [["true", true], ["false", false], ["null", null]]) {
        if (text.startsWith(word, i)) { i += word.length; return result; }
      }
      return bad(c === undefined ? "it ends too early" : `unexpected ${JSON.stringify(c)} at ${i}`);
    }
    function object(depth) {
      i += 1;
      const out = Object.create(null);
      ws();
      if (text[i] === "}") { i += 1; return out; }
      for (;;) {
        ws();
        if (text[i] !== '"') bad(`a key was expected at ${i}`);
        const key = string();
        if (Object.prototype.hasOwnProperty.call(out, key)) F.fail(`${what} is not valid JSON: an object repeats a key.`);
        ws();
        if (text[i] !== ":") bad(`':' was expected at ${i}`);
        i += 1;
        out[key] = value(depth + 1);
        ws();
        if (text[i] === ",") { i += 1; continue; }
        if (text[i] === "}") { i += 1; return out; }
        bad(`',' or '}' was expected at ${i}`);
      }
    }
    function array(depth) {
      i += 1;
      const out = [];
      ws();
      if (text[i] === "]") { i += 1; return out; }
      for (;;) {
        out.push(value(depth + 1));
        ws();
        if (text[i] === ",") { i += 1; continue; }
        if (text[i] === "]") { i += 1; return out; }
        bad(`',' or ']' was expected at ${i}`);
      }
    }
    function string() {
      i += 1;
      let out = "";
      for (;;) {
        const c = text[i];
        if (c === undefined) bad("a string is not closed");
        if (c === '"') { i += 1; return out; }
        if (c < " ") bad("a control character in a string");
        if (c !== "\\") { out += c; i += 1; continue; }
        const e = text[i + 1];
        if (e === "u") {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) bad("a bad \\u escape");
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
        } else if (e in ESCAPES) {
          out += ESCAPES[e];
          i += 2;
        } else {
          bad("a bad escape");
        }
      }
    }
    function number() {
      const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/.exec(text.slice(i, i + 5000));
      if (!m) bad(`a bad number at ${i}`);
      i += m[0].length;
      if (m[2] === undefined && m[3] === undefined) {
        if (m[0].replace("-", "").length > 4300) bad("an integer with too many digits");
        return BigInt(m[0]);
      }
      const float = Number(m[0]);
      if (!Number.isFinite(float)) bad("a number out of range");
      return new JsonFloat(float);
    }
    if (typeof text !== "string") F.fail(`${what} is not text.`);
    const result = value(0);
    ws();
    if (i !== text.length) bad(`extra data at ${i}`);
    if (result === null || typeof result !== "object" || Array.isArray(result) || result instanceof JsonFloat) {
      F.fail(`${what} must be a JSON object.`);
    }
    return result;
  };

  // --- canonical JSON (ledger/crypto.py canonical_json: Python's json.dumps with sort_keys,
  // separators (",", ":"), ensure_ascii=False) -------------------------------------------
  /** Python's repr of a float: the shortest round-trip digits, fixed from 1e-4 to below 1e16. */
  function floatRepr(x) {
    if (Object.is(x, -0)) return "-0.0";
    const [mantissa, exponentText] = x.toExponential().split("e");
    const exponent = Number(exponentText), negative = mantissa.startsWith("-");
    const digits = mantissa.replace("-", "").replace(".", "");
    let out;
    if (exponent < -4 || exponent >= 16) {
      const e = Math.abs(exponent).toString().padStart(2, "0");
      out = `${digits[0]}${digits.length > 1 ? "." + digits.slice(1) : ""}e${exponent < 0 ? "-" : "+"}${e}`;
    } else if (exponent < 0) {
      out = `0.${"0".repeat(-exponent - 1)}${digits}`;
    } else {
      const whole = digits.padEnd(exponent + 1, "0");
      const rest = digits.slice(exponent + 1);
      out = `${whole.slice(0, exponent + 1)}.${rest || "0"}`;
    }
    return (negative ? "-" : "") + out;
  }
  F.floatRepr = floatRepr;

  const SHORT = { '"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f" };
  function quote(text) {
    return '"' + text.replace(/["\\\x00-\x1f]/g, (c) => SHORT[c] ?? "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0")) + '"';
  }
  // Python sorts keys by code point; JavaScript's default sort by UTF-16 unit differs above U+FFFF.
  const byCodePoint = (a, b) => { const x = [...a], y = [...b];
    for (let k = 0; k < Math.min(x.length, y.length); k += 1) {
      if (x[k] !== y[k]) return x[k].codePointAt(0) - y[k].codePointAt(0);
    }
    return x.length - y.length; };
  F.byCodePoint = byCodePoint;

  /** The canonical JSON text of a parsed value; `unsigned`: without a top-level "signature". */
  F.canonicalJson = function canonicalJson(value, unsigned = false) {
    if (value === null) return "null";
    if (value === true || value === false) return String(value);
    if (typeof value === "bigint") return value.toString();
    if (value instanceof JsonFloat) return floatRepr(value.value);
    if (typeof value === "string") return quote(value);
    if (Array.isArray(value)) return "[" + value.map((v) => canonicalJson(v)).join(",") + "]";
    const keys = Object.keys(value).filter((k) => !(unsigned && k === "signature")).sort(byCodePoint);
    return "{" + keys.map((k) => quote(k) + ":" + canonicalJson(value[k])).join(",") + "}";
  };

  F.decodeUtf8 = function decodeUtf8(bytes, what) {
    try {
      return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch (_) {
      return F.fail(`${what} is not UTF-8 text.`);
    }
  };
})(globalThis);
