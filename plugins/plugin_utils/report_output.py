# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the controller-side reports (audit_report, compat_report) share: their options, escaping for Markdown
and HTML, the self-contained HTML page, the hosts' variables, and writing the report files (only those whose
text changed, atomically).
"""

from __future__ import annotations

import html
import os
import re
import tempfile
from typing import Any, Callable, Dict, List, Mapping, Optional

from ansible.errors import AnsibleActionFail

# Files whose text a diff shows; an HTML page repeats what they say.
DIFFED_SUFFIXES = (".md", ".json")
RESULT_KEYS = {".json": "json", ".md": "markdown", ".html": "html"}
# The options of every report action, beside its own basename default.
REPORT_ARGUMENT_SPEC = {
    "hosts": {"type": "list", "elements": "str", "required": True},
    "dest": {"type": "path", "required": True},
}

BASE_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d1d1f; background: #fff; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table.matrix { border-collapse: collapse; font-size: 12px; }
table.matrix th, table.matrix td { border: 1px solid #c8c8cc; padding: 3px 5px; text-align: center; }
tr.group th { background: #dfe3ea; text-align: left; font-size: 13px; }
.pass { background: #d6f5d6; color: #0b5d0b; }
.fail { background: #fbd3d0; color: #8a1010; font-weight: 600; }
.legend span { display: inline-block; padding: 2px 8px; margin-right: 6px; border: 1px solid #c8c8cc; }
.reasons td, .reasons th { border: 1px solid #e0e0e4; padding: 2px 6px; text-align: left; font-size: 12px; }
.reasons { border-collapse: collapse; margin-bottom: 1em; }
details { margin: 4px 0 10px; }
"""


def escape_html(text: Any) -> str:
    return html.escape(str(text), quote=True)


def escape_markdown(text: str) -> str:
    """Text for a Markdown table cell or list item: markup characters escaped, on one line."""
    return re.sub(r"([|\\`*_<>\[\]])", r"\\\1", text).replace("\n", " ")


def html_page(title: str, css: str, body: List[str]) -> str:
    """One self-contained page: inline CSS (BASE_CSS, then css), no scripts, no external resources."""
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           "<title>%s</title>" % escape_html(title), "<style>%s%s</style></head><body>" % (BASE_CSS, css),
           "<h1>%s</h1>" % escape_html(title)]
    return "\n".join(out + body + ["</body></html>"]) + "\n"


def _read(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _write_atomically(path: str, text: str) -> None:
    handle, temporary = tempfile.mkstemp(prefix=".report-", dir=os.path.dirname(path))
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def write_report_files(dest: str, basename: str, texts: Mapping[str, str], check_mode: bool,
                       want_diff: bool) -> Dict[str, Any]:
    """Write dest/basename.json, .md and .html (texts by suffix) where the file differs; nothing in check mode.

    Returns the action's result keys: changed, the paths (json, markdown, html) and, with want_diff, the
    diffs of the DIFFED_SUFFIXES files that change.
    """
    dest = os.path.abspath(dest)
    paths = {suffix: os.path.join(dest, basename + suffix) for suffix in texts}
    changed = [suffix for suffix, text in texts.items() if _read(paths[suffix]) != text]
    result: Dict[str, Any] = dict((RESULT_KEYS[suffix], path) for suffix, path in paths.items())
    result["changed"] = bool(changed)
    if want_diff:
        result["diff"] = [{"before_header": paths[suffix], "after_header": paths[suffix],
                           "before": _read(paths[suffix]) or "", "after": texts[suffix]}
                          for suffix in DIFFED_SUFFIXES if suffix in changed]
    if changed and not check_mode:
        os.makedirs(dest, mode=0o755, exist_ok=True)
        for suffix in changed:
            _write_atomically(paths[suffix], texts[suffix])
    return result


def values_by_host(task_vars: Mapping[str, Any], hosts: List[str], lookup: Callable[[Mapping[str, Any]], Any]) -> Dict[str, Any]:
    """For each host, lookup(its hostvars) (a mapping as a plain dict), or None where it has none (the host
    failed or was unreachable); a host the inventory does not know fails the action."""
    hostvars = task_vars["hostvars"]
    values: Dict[str, Any] = {}
    for host in hosts:
        if host not in hostvars:
            raise AnsibleActionFail("host %s is not in the inventory" % host)
        value = lookup(hostvars[host])
        values[host] = (dict(value) if isinstance(value, Mapping) else value) if value else None
    return values
