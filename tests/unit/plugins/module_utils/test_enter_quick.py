# -*- coding: utf-8 -*-
# Copyright: linux.namespaces contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The quick entering program reads JSON as json.loads does, and leaves every other target to the full one."""

from __future__ import annotations

import json

import pytest

from ansible_collections.linux.namespaces.plugins.module_utils import enter_quick


@pytest.mark.parametrize("text", [
    '{"name": "web", "store": "/run/linux-namespaces", "types": ["net", "uts"]}',
    ' \n{"inodes": {"mnt": 4026531841}, "holder_pid": null, "nested": [1, 2.5, true, false, "\\u00e9"]}\n',
    '[]', '"just a string"', '0',
])
def test_json_is_read_as_json_loads_reads_it(text: str):
    assert enter_quick.json_value(text) == json.loads(text)


@pytest.mark.parametrize("text", ['{"a": 1} {"b": 2}', "{'a': 1}", '{"a": 1', ""])
def test_what_json_loads_refuses_is_refused(text: str):
    with pytest.raises(Exception):
        json.loads(text)
    with pytest.raises(Exception):
        enter_quick.json_value(text)


@pytest.mark.parametrize("target", [
    {"pid": 1}, {"netns": "blue"}, {"paths": {"net": "/run/netns/blue"}},
    {"name": "..", "store": "{store}"}, {"name": "a/../../etc", "store": "{store}"},
    {"name": "web", "store": "relative"}, {"name": "web", "store": "{store}", "types": []},
])
def test_other_targets_and_names_leading_out_of_the_store_are_not_entered_here(target: dict, tmp_path):
    target = json.loads(json.dumps(target).replace("{store}", str(tmp_path)))
    with pytest.raises((ValueError, KeyError)):
        enter_quick.set_files(target)


def test_a_set_that_does_not_exist_is_left_to_the_full_program(tmp_path):
    with pytest.raises(FileNotFoundError):
        enter_quick.set_files({"name": "web", "store": str(tmp_path)})
