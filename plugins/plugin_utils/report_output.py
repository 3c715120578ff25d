# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the controller-side reports (audit_report, compat_report) share: their options, rendering with the
collection's Jinja2 templates (templates/) or a user's own, Markdown escaping and HTML anchors, the hosts'
variables and why a host has none, and writing the report files (only those whose text changed, atomically).
"""

from __future__ import annotations

import html
import json
import os
import re
import tempfile
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import jinja2
import markupsafe
from ansible.errors import AnsibleActionFail

# Files whose text a diff shows; an HTML page repeats what they say.
DIFFED_SUFFIXES = (".md", ".json")
RESULT_KEYS = {".json": "json", ".md": "markdown", ".html": "html"}
# The options of every report action, beside its own basename default.
REPORT_ARGUMENT_SPEC = {
    "hosts": {"type": "list", "elements": "str", "required": True},
    "dest": {"type": "path", "required": True},
    "html_template": {"type": "path"},
    "markdown_template": {"type": "path"},
    "failure_vars": {"type": "list", "elements": "str", "default": []},
}

TEMPLATE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
OUTPUT_KINDS = ("html", "markdown")


def escape_markdown(text: Any) -> str:
    """Text for a Markdown table cell or list item: markup characters escaped, on one line."""
    return re.sub(r"([|\\`*_<>\[\]])", r"\\\1", str(text)).replace("\n", " ")


def anchor_ids(kind: str, names: List[str]) -> List[str]:
    """An HTML id per name ('kind-name' with other characters than letters, digits, '.', '_' and '-' made
    '_'), unique: a repeated one gets its position appended."""
    seen: set = set()
    anchors = []
    for position, name in enumerate(names):
        anchor = "%s-%s" % (kind, re.sub(r"[^A-Za-z0-9_.-]", "_", name))
        if anchor in seen:
            anchor = "%s-%d" % (anchor, position)
        seen.add(anchor)
        anchors.append(anchor)
    return anchors


def element_text(text: Any) -> markupsafe.Markup:
    """Text for the content of an HTML element: only &, < and > escaped (quotes need none there, and observations
    are full of them)."""
    return markupsafe.Markup(html.escape(str(text), quote=False))


def evidence_text(observed: Any, limit: int) -> str:
    """An observation as compact JSON text, cut at limit characters (the cut said with its full length)."""
    if observed is None or observed == {}:
        return ""
    text = json.dumps(observed, sort_keys=True, separators=(",", ":"))
    if len(text) <= limit:
        return text
    return "%s ... (%d characters in all)" % (text[:limit], len(text))


def render_template(kind: str, name: str, report: Mapping[str, Any], helpers: Mapping[str, Any],
                    user_template: Optional[str] = None) -> str:
    """The report rendered by the collection's template `name` (in TEMPLATE_DIR), or by the user's own template
    file, which may extend or include the collection's by name. HTML is autoescaped; Markdown templates have the
    filter `md` (escape_markdown)."""
    if kind not in OUTPUT_KINDS:
        raise ValueError("kind must be one of %s" % ", ".join(OUTPUT_KINDS))
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=kind == "html",
                                     undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                     keep_trailing_newline=True)
    environment.filters.update(md=escape_markdown, **dict((key, value) for key, value in helpers.items()
                                                          if callable(value)))
    environment.globals.update(helpers)
    try:
        if user_template:
            try:
                with open(user_template, encoding="utf-8") as handle:
                    template = environment.from_string(handle.read())
            except OSError as error:
                raise AnsibleActionFail("cannot read the %s template %s: %s" % (kind, user_template, error.strerror))
        else:
            template = environment.get_template(name)
        return template.render(report=report)
    except jinja2.TemplateError as error:
        raise AnsibleActionFail("the %s template %s failed: %s" % (kind, user_template or name, error))


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


def write_report(args: Mapping[str, Any], text: str, load: Callable[[str], Dict[str, Any]], stem: str,
                 helpers: Mapping[str, Any], check_mode: bool, want_diff: bool) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The report document read back from its JSON text, and the result of writing that text with the Markdown and
    HTML rendered from the document (templates STEM.md.j2 and STEM.html.j2, or the task's own)."""
    # The templates see the document as a reader of the JSON file does.
    report = load(text)
    texts = {".json": text,
             ".md": render_template("markdown", stem + ".md.j2", report, helpers, args["markdown_template"]),
             ".html": render_template("html", stem + ".html.j2", report, helpers, args["html_template"])}
    return report, write_report_files(args["dest"], args["basename"], texts, check_mode, want_diff)


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


def failure_reason(hostvars: Mapping[str, Any], failure_vars: List[str]) -> Optional[str]:
    """Why a host has no result, in Ansible's own words: the first of failure_vars the host has, a text or a
    registered task result that failed or was unreachable (its msg, e.g. ssh's "No route to host")."""
    for name in failure_vars:
        value = hostvars.get(name)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
        if isinstance(value, Mapping) and (value.get("unreachable") or value.get("failed")):
            kind = "unreachable" if value.get("unreachable") else "failed"
            return "%s: %s" % (kind, " ".join(str(value.get("msg") or "no message").split()))
    return None
