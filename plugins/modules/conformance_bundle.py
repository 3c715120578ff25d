#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The work is done on the controller by the action plugin of the same name; this file documents it.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: conformance_bundle
short_description: Pack the conformance kit and its Python requirements for hosts without the internet
version_added: "0.1.0"
description:
  - Writes C(conformance-kit.tar.gz) into O(dest) on the controller. It holds the collection's conformance kit
    under C(kit/conformance/), the pure-Python distributions the kit runs with in C(site.zip) (pytest-testinfra,
    pytest and everything they require; Python imports them from the zip), and C(bundle.json).
  - The distributions are copied from the Python that runs Ansible on the controller, or from the directories in
    O(search_path). A distribution with compiled code is refused.
  - A host runs the kit from the unpacked tarball with
    C(PYTHONPATH=DIR/site.zip:DIR/kit python3 -m pytest DIR/kit/conformance --hosts=local://); it needs no internet
    and no ansible. The role C(linux.namespaces.conformance) does this.
  - Returns the host Python versions the bundle serves, computed from the distributions' metadata. A version is
    served when every distribution accepts it and every requirement that applies to it is shipped, for
    example pytest 8.4 and later need C(exceptiongroup) and C(tomli) on Python 3.10 and older.
  - Always reports a change; it writes nothing in check mode.
author:
  - linux.namespaces maintainers (@linux-namespaces)
options:
  dest:
    description:
      - An existing directory on the controller to write the tarball into, usually a temporary one.
    type: path
    required: true
  search_path:
    description:
      - Directories to take the distributions from instead of the controller Python's C(sys.path).
      - For example one made with C(pip install --target DIR "pytest<8.4" pytest-testinfra) for hosts with an older Python.
    type: list
    elements: path
extends_documentation_fragment:
  - linux.namespaces.controller_action
attributes:
  check_mode:
    support: full
    description: Builds nothing.
  diff_mode:
    support: none
    description: Writes a new tarball each time; there is nothing to compare.
seealso:
  - module: linux.namespaces.compat_report
"""

EXAMPLES = r"""
- name: Make a temporary directory on the controller
  ansible.builtin.tempfile:
    state: directory
  register: controller_tmp
  delegate_to: localhost
  run_once: true

- name: Pack the kit
  linux.namespaces.conformance_bundle:
    dest: "{{ controller_tmp.path }}"
  delegate_to: localhost
  run_once: true
  register: bundle
"""

RETURN = r"""
path:
  description: Path of the tarball on the controller.
  returned: always
  type: str
  sample: /tmp/ansible.x1y2/conformance-kit.tar.gz
pythons:
  description: The host Python versions (major.minor) the bundle serves.
  returned: success, not in check mode
  type: list
  elements: str
  sample: ["3.11", "3.12", "3.13", "3.14"]
distributions:
  description: The shipped distributions and their versions.
  returned: success, not in check mode
  type: dict
  sample: {"pytest": "9.2.0", "pytest-testinfra": "10.2.2", "pluggy": "1.7.0"}
built_with:
  description: The version of the Python the distributions were taken from.
  returned: success, not in check mode
  type: str
  sample: 3.11.7
kit_files:
  description: How many files of the kit the tarball holds.
  returned: success, not in check mode
  type: int
  sample: 22
"""
