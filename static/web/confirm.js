// Escape closes an open confirmation and puts the focus back on its button. The confirmations are
// <details> disclosures and work without this script; it only adds the key people expect.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const open = (event.target instanceof Element && event.target.closest("details.confirm[open]"))
    || document.querySelector("details.confirm[open]");
  if (!open) return;
  open.open = false;
  open.querySelector("summary").focus();
  event.preventDefault();
});
