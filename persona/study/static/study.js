// Live character count for the justification (visible characters, as the server counts them: no spaces, no
// zero-width or control characters), and one submit per click: the server is the judge of both.
document.addEventListener("DOMContentLoaded", () => {
  const text = document.getElementById("justification");
  const count = document.getElementById("count");
  if (text && count) {
    const invisible = /[\p{Cf}\p{Zs}\p{Zl}\p{Zp}\p{Cc}]/gu;
    text.addEventListener("input", () => { count.textContent = text.value.replace(invisible, "").length; });
  }
  for (const form of document.querySelectorAll("form")) {
    form.addEventListener("submit", () => {
      for (const button of form.querySelectorAll("button[type=submit]")) button.disabled = true;
    });
  }
});
