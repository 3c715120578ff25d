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
  - The report is a matrix of host groups by capabilities (can run isolate.yml, each namespace type creatable,
    unprivileged user namespaces, each probed kernel feature, kernel config), with the first mainline kernel of each
    capability in the table. Hosts whose cells are identical form one group, one row; each host's name links to its
    group's details. Each cell is C(pass), C(fail) or C(unknown) with its reason. It answers which hosts can run
    isolate.yml, which cannot, and why, and lists each group's disagreements.
  - A host without facts appears with every cell C(unknown) and the reason, Ansible's own message when one of
    O(failure_vars) holds the host's failed or unreachable task result (the role registers C(audit_facts_run)).
  - The Markdown and HTML are rendered from the JSON report (schema C(linux.namespaces/audit-report/2), described in
    the collection's C(docs/REPORTS.md)) by Jinja2 templates, the collection's or your own (O(html_template),
    O(markdown_template)).
  - The HTML page is one file with inline CSS and an inline SVG heat map of capabilities by host group, and no
    scripts or external resources; the details of a group where everything passed are collapsed.
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
    failure_vars: [audit_facts_run]
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
counts:
  description: The hosts, the kernel releases, the hosts without facts, and the cells by status.
  returned: always
  type: dict
  sample: {"hosts": 5, "kernels": 2, "without_facts": 1, "pass": 110, "fail": 2, "unknown": 26}
groups:
  description: How many groups of hosts with identical results the report has.
  returned: always
  type: int
  sample: 2
isolate:
  description: Which hosts can run isolate.yml (C(can)), which cannot and why (C(cannot)), and which are unknown.
  returned: always
  type: dict
  sample: {"can": ["web1"], "cannot": {"old1": "isolate.yml cannot run: pidfd_open: ..."}, "unknown": {}}
"""
