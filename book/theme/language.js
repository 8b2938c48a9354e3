// The language switch in the menu bar: each page links to the same page in
// the other edition. scripts/book builds the English edition into book/build
// and the Russian one into book/build/ru, with the same file names.
(function () {
    const buttons = document.querySelector("#mdbook-menu-bar .right-buttons, .menu-bar .right-buttons");
    if (!buttons) {
        return;
    }
    const russian = document.documentElement.lang === "ru";
    const page = window.location.pathname.split("/").pop() || "index.html";
    const link = document.createElement("a");
    link.className = "language-switch";
    link.href = path_to_root + (russian ? "../" : "ru/") + page;
    link.lang = russian ? "en" : "ru";
    link.hreflang = link.lang;
    link.textContent = russian ? "English" : "Русский";
    link.title = russian ? "This page in English" : "Эта страница по-русски";
    buttons.insertBefore(link, buttons.firstChild);
})();
