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
attributes:
  check_mode:
    support: full
    description: Reports whether a file would change, and writes nothing.
  diff_mode:
    support: partial
    description: Shows the changes of the Markdown and JSON files; the HTML page is not diffed.
"""
