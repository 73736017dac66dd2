"""The book's own Sphinx tweaks (loaded through _config.yml, sphinx.local_extensions).

Inline scripts written twice: Sphinx 7.4 keeps an inline script
(``app.add_js_file(None, body=...)``) that an extension adds after the builder started
under the file name ``None``, and before writing re-adds the same script under the name
``""``; the two do not compare equal, so every page declared ``THEBE_JS_URL``
(sphinx-thebe) twice, a SyntaxError in the browser console. Naming both ``""`` lets
Sphinx's own de-duplication drop the copy. tests/test_browser.py checks that no page
logs a console error.
"""

from __future__ import annotations


def _one_name_for_inline_scripts(app, env) -> None:
    files = getattr(app.builder, "_js_files", None)
    if files is None:  # not an HTML builder
        return
    from sphinx.builders.html._assets import _JavaScript

    unique = []
    for script in files:
        if script.filename is None:
            script = _JavaScript("", priority=script.priority, **script.attributes)
        if script not in unique:
            unique.append(script)
    files[:] = unique


def setup(app):
    app.connect("env-updated", _one_name_for_inline_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
