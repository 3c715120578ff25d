"""Counting SSH sessions per host: ssh, sftp and scp wrappers that log their arguments (for tests and bench/)."""

from __future__ import annotations

import os
import pathlib
import shutil
import typing

SSH_TOOLS = ("ssh", "sftp", "scp")
WRAPPER = '#!/bin/sh\nprintf "%%s\\n" "$*" >> "$LNS_SSH_LOG"\nexec %s "$@"\n'


class SessionCounter:
    """A PATH directory whose ssh, sftp and scp log their arguments, then run the real program."""

    def __init__(self, workdir: pathlib.Path):
        self.directory = workdir / "ssh-wrappers"
        self.directory.mkdir()
        for tool in SSH_TOOLS:
            real = shutil.which(tool)
            if real is None:
                raise SystemExit("%s not found: install openssh-client" % tool)
            wrapper = self.directory / tool
            wrapper.write_text(WRAPPER % real)
            wrapper.chmod(0o755)
        self.log = workdir / "ssh-sessions.log"

    def env(self, base: typing.Mapping[str, str]) -> dict:
        self.log.write_text("")
        return dict(base, PATH="%s%s%s" % (self.directory, os.pathsep, base.get("PATH", "")), LNS_SSH_LOG=str(self.log))

    def per_host(self, hosts: list) -> dict:
        """Sessions per host name since env() was called (a host is named by its name or address)."""
        aliases = {}
        for host in hosts:
            for alias in (host.name, host.address, "[%s]" % host.address, "root@%s" % host.address):
                aliases[alias] = host.name
        counts = dict((host.name, 0) for host in hosts)
        for line in self.log.read_text().splitlines():
            named = {aliases[word] for word in line.split() if word in aliases}
            if len(named) == 1:
                counts[named.pop()] += 1
        return counts
