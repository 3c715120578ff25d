# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation shared by the actions that run on the controller only, and by the reports they write."""

from __future__ import annotations


class ModuleDocFragment:
    # An action plugin that runs on the controller and nothing on the targets.
    DOCUMENTATION = r"""
attributes:
  action:
    support: full
    description: Runs on the controller as an action plugin.
  platform:
    support: full
    platforms: all
    description: Runs on the controller.
"""

    # A report written as BASENAME.json, .md and .html from the hosts' variables.
    REPORT = r"""
options:
  hosts:
    description:
      - The hosts to report on, usually C(ansible_play_hosts_all).
    type: list
    elements: str
    required: true
  dest:
    description:
      - The directory on the controller to write the report to; created if missing.
      - A relative path is relative to the controller's working directory.
    type: path
    required: true
  html_template:
    description:
      - A Jinja2 template file of your own for the HTML page, instead of the collection's. It gets the JSON report
        as C(report), is autoescaped, and may extend or include the collection's templates by name.
    type: path
  markdown_template:
    description:
      - A Jinja2 template file of your own for the Markdown report, instead of the collection's. It gets the JSON
        report as C(report) and the filter C(md), which escapes Markdown markup.
    type: path
  failure_vars:
    description:
      - Host variables that say why a host has no data, tried in order. A text is taken as it is; a registered task
        result that failed or was unreachable gives Ansible's own message (for example ssh's C(No route to host)).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    description: Reports whether a file would change, and writes nothing.
  diff_mode:
    support: partial
    description: Shows the changes of the Markdown and JSON files; the HTML page is not diffed.
"""
