#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The work is done on the controller by the action plugin of the same name; this file documents it.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: audit_report
short_description: Write the fleet's namespace audit as JSON, Markdown and a self-contained HTML page
version_added: "0.1.0"
description:
  - Reads the C(linux_namespaces) facts that M(linux.namespaces.namespace_facts) set on each host in O(hosts) and
    writes one report on the controller, in three files under O(dest), C(BASENAME.json), C(BASENAME.md) and
    C(BASENAME.html).
  - The report is a matrix of hosts by capabilities (can run isolate.yml, each namespace type creatable,
    unprivileged user namespaces, each probed kernel feature, kernel config). Each cell is C(pass), C(fail) or
    C(unknown) with its reason. Rows are grouped by kernel version. It answers which hosts can run isolate.yml,
    which cannot, and why, and lists each host's disagreements.
  - A host without facts (unreachable, or the module failed there) appears with every cell C(unknown).
  - The HTML page has inline CSS and no scripts or external resources; reasons show as cell tooltips and in a
    visible list per host.
  - The files hold no timestamp, so the same facts give the same files and the task reports no change.
author:
  - linux.namespaces maintainers (@linux-namespaces)
options:
  basename:
    description:
      - The file name of the report without its suffix.
    type: str
    default: namespace-audit
extends_documentation_fragment:
  - linux.namespaces.controller_action
  - linux.namespaces.controller_action.report
seealso:
  - module: linux.namespaces.namespace_facts
"""

EXAMPLES = r"""
- name: Write the fleet report
  linux.namespaces.audit_report:
    hosts: "{{ ansible_play_hosts_all }}"
    dest: reports
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
json:
  description: Path of the JSON report.
  returned: always
  type: str
  sample: /home/me/reports/namespace-audit.json
markdown:
  description: Path of the Markdown report.
  returned: always
  type: str
  sample: /home/me/reports/namespace-audit.md
html:
  description: Path of the HTML page.
  returned: always
  type: str
  sample: /home/me/reports/namespace-audit.html
hosts:
  description: How many hosts the report covers.
  returned: always
  type: int
  sample: 5
isolate:
  description: Which hosts can run isolate.yml (C(can)), which cannot and why (C(cannot)), and which are unknown.
  returned: always
  type: dict
  sample: {"can": ["web1"], "cannot": {"old1": "isolate.yml cannot run: pidfd_open: ..."}, "unknown": {}}
"""
