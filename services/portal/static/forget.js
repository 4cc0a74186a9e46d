/* The proof page's one button: forget the checkpoint this browser kept for the account. */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("forget");
  if (!button) return;
  button.addEventListener("click", () => {
    for (const key of Object.keys(localStorage)) if (key.startsWith("fairsplit:checkpoint:")) localStorage.removeItem(key);
    button.textContent = "Forgotten: the next visit starts from the current checkpoint.";
  });
});
