"""The emulated IOS-like / Yamaha-RTX-like device behind the fake SSH server: its CLI and config."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

IOS_SECTIONS: Final = (
    ("interface ", "config-if"),
    ("ip dhcp pool ", "dhcp-config"),
    ("ip access-list extended ", "config-ext-nacl"),
    ("ip access-list standard ", "config-std-nacl"),
    ("router ", "config-router"),
    ("line ", "config-line"),
)
IOS_SINGLE: Final = (
    "description",
    "ip address",
    "network",
    "default-router",
    "dns-server",
    "lease",
    "host",
    "hardware-address",
)
YAMAHA_KEYS: Final = (
    ("ip", "filter", 3),
    ("ip", "lan", 3),
    ("vlan", "", 3),
    ("dhcp", "scope bind", 5),
    ("dhcp", "scope option", 4),
    ("dhcp", "scope", 3),
    ("nat", "descriptor masquerade static", 6),
    ("nat", "descriptor type", 4),
    ("nat", "descriptor address outer", 5),
)
IOS_INVALID: Final = "% Invalid input detected at '^' marker."
GARBAGE: Final = "\x1b[2J@@ ~~ 0xDEADBEEF !! KERNEL PANIC? ~~ @@\r\n%%%% :::: &&&&\r\n"


class Behaviour(StrEnum):
    """How the fake device misbehaves, for error-path tests."""

    NORMAL = "normal"
    GARBAGE = "garbage"
    HANG_BANNER = "hang_banner"
    HANG_SHELL = "hang_shell"


@dataclass
class FakeDevice:
    """State of one emulated device: credentials, running config, canned show outputs."""

    platform: str = "ios"
    hostname: str = "rtr-test"
    username: str = "netkeep"
    password: str = "s3cret-pass"
    enable_secret: str = "en-secret"
    running: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    behaviour: Behaviour = Behaviour.NORMAL
    saved: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def config_lines(self) -> list[str]:
        """A copy of the running config lines, children indented by one space."""
        with self.lock:
            return list(self.running)


class CliSession:
    """One login's CLI state (enable, config mode, section); text it prints goes through send."""

    def __init__(self, device: FakeDevice, send: Callable[[str], None]) -> None:
        self.dev = device
        self.send = send
        self.enabled = False
        self.mode = ""  # "" exec, "config", or a sub-mode like "config-if"
        self.section: str | None = None  # header of the section being edited
        self.awaiting_password = False
        self.dirty = False

    def prompt(self) -> str:
        name = self.dev.hostname
        if self.dev.platform == "yamaha":
            return f"{name}{'#' if self.enabled else '>'} "
        if self.mode:
            return f"{name}({self.mode})#"
        return f"{name}{'#' if self.enabled else '>'}"

    def answer(self, line: str) -> bool:
        """Handle one input line; False closes the session."""
        with self.dev.lock:
            self.dev.commands.append("<password>" if self.awaiting_password else line)
        if self.dev.behaviour is Behaviour.GARBAGE:
            self.send(line + "\r\n" + GARBAGE)
            return True
        if self.awaiting_password:
            self.awaiting_password = False
            if line == self.dev.enable_secret:
                self.enabled = True
                self.send("\r\n" + self.prompt())
            else:
                self.send("\r\n% Access denied\r\n\r\n" + self.prompt())
            return True
        handler = self.yamaha if self.dev.platform == "yamaha" else self.ios
        result = handler(line.strip())
        if result is None:
            return False
        out = line + "\r\n"
        if result:
            out += result.replace("\n", "\r\n") + "\r\n"
        self.send(out + ("" if self.awaiting_password else self.prompt()))
        return True

    # --- IOS ------------------------------------------------------------------------------

    def ios(self, cmd: str) -> str | None:
        if not cmd:
            return ""
        if self.mode:
            return self.ios_config(cmd)
        if cmd == "enable":
            if self.enabled:
                return ""
            self.awaiting_password = True
            self.send(cmd + "\r\nPassword: ")
            return ""
        if cmd in ("exit", "logout", "quit"):
            return None
        if cmd == "disable":
            self.enabled = False
            return ""
        if cmd.startswith(("terminal length", "terminal width", "terminal no")):
            return ""
        if cmd in ("show running-config", "show run", "show startup-config"):
            if not self.enabled:
                return IOS_INVALID
            lines = self.dev.config_lines() if "run" in cmd else list(self.dev.saved)
            return _ios_running(self.dev.hostname, lines)
        if cmd in self.dev.outputs:
            return self.dev.outputs[cmd]
        if cmd in ("configure terminal", "conf t") and self.enabled:
            self.mode = "config"
            return "Enter configuration commands, one per line.  End with CNTL/Z."
        if cmd in ("write memory", "write mem", "copy running-config startup-config"):
            if not self.enabled:
                return IOS_INVALID
            with self.dev.lock:
                self.dev.saved = list(self.dev.running)
            return "Building configuration...\n[OK]"
        return IOS_INVALID

    def ios_config(self, cmd: str) -> str:
        if cmd == "end":
            self.mode, self.section = "", None
            return ""
        if cmd == "exit":
            if self.section is not None:
                self.mode, self.section = "config", None
            else:
                self.mode = ""
            return ""
        if self.section is not None and not _ios_global(cmd):
            return self.ios_child(cmd)
        self.mode, self.section = "config", None
        with self.dev.lock:
            running = self.dev.running
            if cmd.startswith("no "):
                target = cmd[3:]
                if target in running:  # a section header or a single line
                    start = running.index(target)
                    end = start + 1
                    while end < len(running) and running[end].startswith(" "):
                        end += 1
                    del running[start:end]
                    return ""
                before = len(running)
                running[:] = [ln for ln in running if ln.startswith(" ") or not _covers(target, ln)]
                return "" if len(running) < before else "% Entry not found"
            for prefix, mode in IOS_SECTIONS:
                if cmd.startswith(prefix):
                    if cmd not in running:
                        running.append(cmd)
                    self.mode, self.section = mode, cmd
                    return ""
            if cmd.startswith("hostname "):
                self.dev.hostname = cmd.split(maxsplit=1)[1]
                running[:] = [ln for ln in running if not ln.startswith("hostname ")]
                running.insert(0, cmd)
                return ""
            if not cmd.startswith(("ip ", "ipv6 ", "service ", "vlan ", "access-list ", "ntp ")):
                return IOS_INVALID
            if cmd not in running:
                running.append(cmd)
        return ""

    def ios_child(self, cmd: str) -> str:
        assert self.section is not None
        with self.dev.lock:
            running = self.dev.running
            start = running.index(self.section)
            end = start + 1
            while end < len(running) and running[end].startswith(" "):
                end += 1
            children = [c[1:] for c in running[start + 1 : end]]
            if cmd.startswith("no "):
                target = cmd[3:]
                kept = [c for c in children if not _covers(target, c)]
                if len(kept) == len(children) and target != "shutdown":
                    return "% Entry not found" if self.mode.endswith("nacl") else ""
                children = kept
            else:
                acl_entry = cmd.split()[0] in {"permit", "deny", "remark"}
                if self.mode.endswith("nacl") and not acl_entry:
                    return IOS_INVALID
                single = next((k for k in IOS_SINGLE if cmd.startswith(k + " ")), None)
                if single and not cmd.startswith("ip address dhcp"):
                    children = [c for c in children if not c.startswith(single + " ")]
                if cmd not in children:
                    children.append(cmd)
            running[start + 1 : end] = [" " + c for c in children]
        return ""

    # --- Yamaha RTX ----------------------------------------------------------------------

    def yamaha(self, cmd: str) -> str | None:
        if not cmd:
            return ""
        if cmd == "administrator":
            if self.enabled:
                return ""
            self.awaiting_password = True
            self.send(cmd + "\r\nPassword: ")
            return ""
        if cmd in ("exit", "quit"):
            if self.enabled:
                self.enabled = False
                return ""
            return None
        if cmd.startswith("console "):
            return ""
        if cmd in ("show config", "show running-config"):
            return _yamaha_config(self.dev.config_lines())
        if cmd in self.dev.outputs:
            return self.dev.outputs[cmd]
        if not self.enabled:
            return "Error: Administrator privileges required"
        if cmd == "save":
            with self.dev.lock:
                self.dev.saved = list(self.dev.running)
            return "Saving ... CONFIG0 Done "
        return self.yamaha_config(cmd)

    def yamaha_config(self, cmd: str) -> str:
        with self.dev.lock:
            running = self.dev.running
            if cmd.startswith("pp select ") or cmd.startswith("tunnel select "):
                self.section = None if cmd.endswith(" none") else cmd
                if self.section and self.section not in running:
                    running.append(self.section)
                return ""
            if self.section is not None:
                return "Error: netkeep's fake RTX edits only global lines outside pp select"
            if cmd.startswith("no "):
                target = cmd[3:]
                before = len(running)
                running[:] = [ln for ln in running if ln.startswith(" ") or not _covers(target, ln)]
                if len(running) == before:
                    key = _yamaha_key(target)
                    running[:] = [ln for ln in running if _yamaha_key(ln) != key]
                return ""
            if cmd.split()[0] not in ("ip", "vlan", "dhcp", "nat", "dns", "description"):
                return "Error: Invalid command name"
            key = _yamaha_key(cmd)
            for i, ln in enumerate(running):
                if _yamaha_key(ln) == key:
                    running[i] = cmd
                    return ""
            running.append(cmd)
        return ""


def _covers(target: str, line: str) -> bool:
    """IOS ``no X`` removes the line X, or every line that X is the leading words of."""
    return line == target or line.startswith(target + " ")


def _ios_global(cmd: str) -> bool:
    """Words that leave a sub-mode and act at global level, as IOS does."""
    bare = cmd[3:] if cmd.startswith("no ") else cmd
    if any(bare.startswith(prefix) for prefix, _ in IOS_SECTIONS):
        return True
    return bare.startswith(
        (
            "ip nat inside source",
            "ip nat pool",
            "ip dhcp excluded-address",
            "ip route ",
            "hostname ",
        )
    )


def _yamaha_key(line: str) -> str:
    words = line.split()
    for first, rest, length in YAMAHA_KEYS:
        if words and words[0] == first and " ".join(words[1:]).startswith(rest):
            return " ".join(words[:length])
    return line


def _ios_running(hostname: str, lines: list[str]) -> str:
    body: list[str] = []
    for line in lines:
        if not line.startswith(" ") and body:
            body.append("!")
        body.append(line)
    text = "\n".join(body)
    return (
        f"Building configuration...\n\nCurrent configuration : {len(text)} bytes\n!\n"
        f"version 15.9\n{text}\n!\nend"
    )


def _yamaha_config(lines: list[str]) -> str:
    header = "# RTX1210 Rev.14.01.40 (Tue Apr  1 09:00:00 2025)\n# Memory 256Mbytes, 3LAN, 1BRI"
    return header + "\n" + "\n".join(lines)
