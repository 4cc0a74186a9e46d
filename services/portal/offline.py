"""verify.html: the portal's verifier as one self-contained file an artist opens from disk.

The same JavaScript files as the portal's balance page (`static/fs-*.js`) are inlined with
the page's own glue (`static/offline.js`) and style: the file loads nothing, and its
Content-Security-Policy (a meta tag) allows no network at all (`default-src 'none'`,
`connect-src 'none'`) and only these exact script and style bytes, by SHA-256 hash, so an
edited copy of the file refuses to run its edited script. The portal itself sends a CSP
without any inline script; this file is never served as a page of the portal (it is a
download, `Content-Disposition: attachment`).
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
SCRIPTS = ("fs-json.js", "fs-verify.js", "fs-keys.js", "fs-evidence.js", "fs-period.js", "fs-checks.js", "offline.js")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@lru_cache(maxsize=1)
def verifier_html() -> str:
    script = "\n".join((STATIC / name).read_text() for name in SCRIPTS).replace("</", "<\\/")
    style = (STATIC / "portal.css").read_text()
    csp = (f"default-src 'none'; script-src {_sha256(script)}; style-src {_sha256(style)}; "
           "img-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'")
    template = (STATIC / "verify.html.in").read_text()
    return (template.replace("@CSP@", csp).replace("@STYLE@", style).replace("@SCRIPT@", script))
