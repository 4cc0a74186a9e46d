/* verify.html's glue: read the chosen files, run Fairsplit.verifyDocument, show the verdict. */
"use strict";
(function (root) {
  const F = root.Fairsplit;
  const $ = (id) => root.document.getElementById(id);
  const readText = async (input, what) => {
    const file = input.files && input.files[0];
    if (!file) return null;
    if (file.size > 256 * 1024 * 1024) F.fail(`${what} is larger than 256 MiB.`);
    return F.decodeUtf8(new Uint8Array(await file.arrayBuffer()), what);
  };

  /** Verify the files chosen in the form; resolves to {valid, text, lines}. */
  async function verifyChosen() {
    try {
      const bundle = await readText($("bundle-file"), "The bundle file");
      const keys = await readText($("keys-file"), "The public keys file");
      if (bundle === null || keys === null) F.fail("Choose a bundle and a public keys file.");
      const witnessText = await readText($("witness-file"), "The witness key file");
      const quorumText = $("witness-quorum").value;
      const options = { kept: await readText($("kept-file"), "The kept checkpoint file") };
      if (witnessText !== null) {
        options.witnesses = await F.parseWitnessKeys(witnessText);
        if (quorumText) options.quorum = Number(quorumText);
      }
      const result = await F.verifyDocument(bundle, await F.parseKeyring(keys), options);
      return { valid: true, text: "valid: " + result.lines.join("; ") + ".", lines: result.lines, result };
    } catch (exc) {
      const reason = exc instanceof F.VerificationError ? exc.message : `The document could not be checked (${exc && exc.name}).`;
      return { valid: false, text: "invalid: " + reason, lines: [] };
    }
  }
  root.verifyChosen = verifyChosen;

  root.document.addEventListener("DOMContentLoaded", () => {
    $("offline").addEventListener("submit", async (event) => {
      event.preventDefault();
      const verdict = $("verdict");
      verdict.className = "verdict pending";
      verdict.textContent = "Checking…";
      const outcome = await verifyChosen();
      verdict.className = "verdict " + (outcome.valid ? "ok" : "bad");
      verdict.textContent = outcome.text;
      const list = $("checks");
      list.replaceChildren(...outcome.lines.map((line) => { const li = root.document.createElement("li"); li.textContent = line; return li; }));
    });
  });
})(globalThis);
