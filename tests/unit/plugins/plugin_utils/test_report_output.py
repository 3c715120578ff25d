"""What the reports share: a host's failure reason in Ansible's words, unique anchors, cut observations."""

from __future__ import annotations

from ansible_collections.linux.namespaces.plugins.plugin_utils import report_output

NO_ROUTE = "Failed to connect to the host via ssh: ssh: connect to host 10.0.0.9 port 22: No route to host"


def test_failure_reason_takes_the_first_text_or_failed_result_in_order():
    hostvars = {"why": "  Run the kit:\n  cut off  ", "first_run": {"unreachable": True, "msg": NO_ROUTE, "changed": False},
                "ok_run": {"changed": True, "rc": 0}}
    assert report_output.failure_reason(hostvars, ["absent", "why", "first_run"]) == "Run the kit: cut off"
    assert report_output.failure_reason(hostvars, ["first_run", "why"]) == "unreachable: " + NO_ROUTE
    assert report_output.failure_reason({"run": {"failed": True, "msg": "MODULE FAILURE"}}, ["run"]) == "failed: MODULE FAILURE"
    # A task that worked says nothing about why a host has no data.
    assert report_output.failure_reason(hostvars, ["ok_run"]) is None


def test_anchor_ids_are_html_ids_and_unique():
    assert report_output.anchor_ids("host", ["web 1", "web_1", "a.b-c"]) == ["host-web_1", "host-web_1-1", "host-a.b-c"]


def test_evidence_text_is_compact_json_cut_with_its_length_said():
    assert report_output.evidence_text({"b": [1, 2], "a": "x"}, 100) == '{"a":"x","b":[1,2]}'
    assert report_output.evidence_text(None, 10) == "" and report_output.evidence_text({}, 10) == ""
    assert report_output.evidence_text({"a": "x" * 50}, 10) == '{"a":"xxxx ... (58 characters in all)'
