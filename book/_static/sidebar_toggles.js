// gi-book: make every visible sidebar toggle work.
// pydata-sphinx-theme 0.17 and sphinx-book-theme 1.3 attach their sidebar handlers to the *first* element with
// the class primary-toggle (or secondary-toggle), which is a header button the book theme hides; the toggles a
// reader sees get no handler (pydata-sphinx-theme issue #2451). Each other toggle forwards its click to the
// first one, whose handlers then collapse the sidebar on wide screens or open it as a dialog on narrow ones.
document.addEventListener("DOMContentLoaded", () => {
  for (const kind of ["primary-toggle", "secondary-toggle"]) {
    const [wired, ...others] = document.querySelectorAll(`.${kind}`);
    for (const button of others) {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopImmediatePropagation();
        wired.click();
      }, true);
    }
  }
});
