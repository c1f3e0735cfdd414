// Live character count for the justification, and one submit per click: the server is the judge of both.
document.addEventListener("DOMContentLoaded", () => {
  const text = document.getElementById("justification");
  const count = document.getElementById("count");
  if (text && count) {
    text.addEventListener("input", () => { count.textContent = text.value.trim().length; });
  }
  for (const form of document.querySelectorAll("form")) {
    form.addEventListener("submit", () => {
      for (const button of form.querySelectorAll("button[type=submit]")) button.disabled = true;
    });
  }
});
