"""The become plugin's options: what it enters, and how it gets root."""

from __future__ import annotations

import json
import shlex

import pytest
import yaml
from ansible import constants
from ansible.errors import AnsibleError
from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import shell_loader

from ansible_collections.linux.namespaces.plugins.become import nsenter


def become_plugin(**options) -> nsenter.BecomeModule:
    """The plugin with options set as Ansible sets them (its documented options known to the config)."""
    constants.config.initialize_plugin_configuration_definitions(
        "become", nsenter.BecomeModule.name, yaml.safe_load(nsenter.DOCUMENTATION)["options"])
    plugin = nsenter.BecomeModule()
    plugin._load_name = nsenter.BecomeModule.name  # pylint: disable=protected-access  # what the loader sets
    plugin.set_options(direct=options)
    return plugin


def command(**options) -> str:
    plugin = become_plugin(**options)
    return plugin.build_become_command("/usr/bin/python3 module.py", shell_loader.get("sh"))


def target_argument(line: str) -> dict:
    """The target the program gets: the JSON word after the success marker."""
    words = shlex.split(line)
    return json.loads(words[[i for i, word in enumerate(words) if word.startswith("BECOME-SUCCESS-")][0] + 1])


def test_the_name_option_names_the_set_and_become_user_root_is_ignored():
    target = target_argument(command(name="web", become_user="root"))
    assert target == {"name": "web", "store": None}  # the managed host picks the default store of the user


def test_become_user_other_than_root_is_the_deprecated_fallback():
    assert target_argument(command(become_user="web"))["name"] == "web"


@pytest.mark.parametrize("options, target", [
    ({"pid": 4242}, {"pid": 4242}),
    ({"paths": {"net": "/run/netns/blue"}, "types": ["net"]}, {"paths": {"net": "/run/netns/blue"}, "types": ["net"]}),
    ({"netns": "blue", "become_user": "web"}, {"netns": "blue"}),
])
def test_a_pid_paths_or_netns_is_the_target_without_a_store(options, target):
    assert target_argument(command(**options)) == target


def test_two_targets_fail_on_the_controller_naming_both():
    with pytest.raises(AnsibleError, match="exactly one of name, pid, paths or netns \\(got: name, pid\\)"):
        command(name="web", pid=1)


@pytest.mark.parametrize("options", [{}, {"become_user": "root"}])
def test_without_a_set_the_task_fails_on_the_controller(options):
    with pytest.raises(AnsibleError, match="needs the set to enter"):
        command(**options)


def test_sudo_prefixes_the_program_non_interactively():
    line = command(name="web", sudo=True)
    assert line.startswith("sudo -n -- /usr/bin/python3 -I -S -c ")


def test_with_a_password_sudo_prompts_as_ansible_expects():
    plugin = become_plugin(name="web", sudo=True, become_pass="secret")
    line = plugin.build_become_command("true", shell_loader.get("sh"))
    assert line.startswith("sudo -p '%s' -- " % plugin.prompt)
    assert plugin.expect_prompt() and plugin.check_password_prompt(plugin.prompt.encode() + b" ")
    assert plugin.check_missing_password(b"sudo: a password is required")


def test_ansible_sees_root_through_sudo_and_the_connection_user_without():
    assert become_plugin(name="web").get_option("become_user", playcontext=PlayContext()) is None
    assert become_plugin(name="web", sudo=True).get_option("become_user", playcontext=PlayContext()) == "root"
