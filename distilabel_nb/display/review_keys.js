// Keyboard shortcuts of the review widget (distilabel_nb/widgets/review_keys.py, an anywidget).
// ipywidgets has no key events, so this small module listens on the review's root element
// (.dnb-review) and sends each key it takes to Python as {key}; Python does the rest.
// Keys: digits rate the marked answer (0 is 10), Enter goes to the next row, the left and
// right arrows move between rows. They work while the focus is inside the review (a click
// on it puts it there); typing in its text fields is left alone, and a key the review
// takes does not reach JupyterLab (a digit would change the cell to a heading).

const KEYS = /^(?:[0-9]|Enter|ArrowLeft|ArrowRight)$/;
const TYPING = "input, textarea, select, [contenteditable=''], [contenteditable='true']";

function render({ model, el }) {
  el.classList.add("dnb-review-keys");
  let root = null;
  let tries = 0;
  let frame = 0;

  function onKey(event) {
    if (event.altKey || event.ctrlKey || event.metaKey || !KEYS.test(event.key)) return;
    if (event.target instanceof Element && event.target.closest(TYPING)) return;
    event.preventDefault();  // Enter on a focused button would click it too
    event.stopPropagation();
    model.send({ key: event.key });
  }

  function attach() {
    root = el.closest(".dnb-review");
    if (!root) {
      if (tries++ < 600) frame = requestAnimationFrame(attach);  // not in the page yet
      return;
    }
    if (!root.hasAttribute("tabindex")) root.setAttribute("tabindex", "0");
    root.dataset.dnbKeys = "on";
    root.addEventListener("keydown", onKey);
  }

  attach();
  return () => {
    cancelAnimationFrame(frame);
    if (root) {
      root.removeEventListener("keydown", onKey);
      delete root.dataset.dnbKeys;
    }
  };
}

export default { render };
