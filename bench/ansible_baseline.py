"""The Ansible baseline for the provisioning benchmark: the cisco.meraki collection.

The `ansible` PyPI package bundles the `cisco.meraki` collection. `ansible` 12.3.0 (ansible-core
2.19, `Requires-Python: >=3.11`) bundles cisco.meraki 2.21.9, whose modules are action plugins
built on the meraki SDK (`requirements.txt`: `meraki >= 1.33.0`) and take `meraki_base_url`
(`plugins/doc_fragments/module.py`). They run in the controller process, so the SDK goes into
the same separate virtualenv (`var/ansible-venv`, never `.venv`): the same meraki release netkeep
uses, so both talk to the sandbox through the same client.

    .venv/bin/python -m bench.ansible_baseline --install   # just build the venv and print versions
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from provisioning.sheet_io import dashboard_view
from provisioning.sheet_model import Sheet

ANSIBLE_VERSION = "12.3.0"
MERAKI_VERSION = "4.7.0"
ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "var" / "ansible-venv"
API_KEY = "sandbox-api-key"
PYTHON_311 = Path("/root/.pyenv/versions/3.11.7/bin/python3.11")


def venv_bin(name: str) -> Path:
    return VENV / "bin" / name


def ensure_ansible(log: bool = True) -> dict[str, str]:
    """Create var/ansible-venv with ansible + meraki pinned (idempotent); return the versions."""
    python = venv_bin("python")
    if not python.exists():
        base = PYTHON_311 if PYTHON_311.exists() else Path(sys.executable)
        subprocess.run([str(base), "-m", "venv", str(VENV)], check=True)
    wanted = [f"ansible=={ANSIBLE_VERSION}", f"meraki=={MERAKI_VERSION}"]
    present = installed_versions()
    if present.get("ansible") != ANSIBLE_VERSION or present.get("meraki") != MERAKI_VERSION:
        if log:
            print(f"installing {' '.join(wanted)} into {VENV} ...", flush=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, *wanted], check=True)
        present = installed_versions()
    return present


def installed_versions() -> dict[str, str]:
    """Versions of ansible, ansible-core, meraki and the bundled cisco.meraki in the venv."""
    python = venv_bin("python")
    if not python.exists():
        return {}
    probe = (
        "import json, importlib.metadata as m, pathlib\n"
        "out = {}\n"
        "for d in ('ansible', 'ansible-core', 'meraki'):\n"
        "    try: out[d] = m.version(d)\n"
        "    except m.PackageNotFoundError: pass\n"
        "try:\n"
        "    import ansible_collections.cisco.meraki as c\n"
        "    p = pathlib.Path(list(c.__path__)[0]) / 'MANIFEST.json'\n"
        "    out['cisco.meraki'] = json.loads(p.read_text())['collection_info']['version']\n"
        "except Exception: pass\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([str(python), "-c", probe], capture_output=True, text=True)
    if done.returncode != 0:
        return {}
    result: dict[str, str] = json.loads(done.stdout)
    return result


# --- the playbook ------------------------------------------------------------------------------

# Coverage for these sheets (cisco.meraki 2.21.9's action plugins, tried against the sandbox):
# every setting the benchmark uses has a module (network, claim, device names, VLANs settings,
# VLANs with DHCP, deleting the factory VLAN 1, L3 rules, content filtering, IPS, malware, SSIDs,
# RF profiles), but two need a detour: port forwarding (PORT_FORWARDING_QUIRK) and the VLANs'
# DHCP reservations (VLAN_QUIRK). `devices` prints to stdout (ansible warns "errantly sent data").
NOT_COVERED = [
    "no plan or diff before writing: each module reads, compares and writes on its own",
    "no action batches: every setting is its own call (and each task builds a new SDK client)",
    "no journal/resume, no read-back verification, no rollback snapshot",
    "PSKs are plain module arguments (no fingerprints; no_log is not set by the collection)",
]


def connection_args(base_url: str, api_key: str) -> dict[str, Any]:
    """The SDK arguments every cisco.meraki module takes (plain http needs nothing extra)."""
    return {
        "meraki_base_url": base_url,
        "meraki_api_key": api_key,
        "meraki_output_log": False,
        "meraki_print_console": False,
        "meraki_suppress_logging": True,
        "meraki_maximum_retries": 12,  # as the naive loop; the collection's default is 2
        "meraki_wait_on_rate_limit": True,
    }


PORT_FORWARDING_QUIRK = (
    "cisco.meraki.networks_appliance_firewall_port_forwarding_rules fails on a network without "
    "rules ('Object does not exists, plugin only has update'): its exists() reads "
    "{'rules': []}, get_dict_result([]) gives None, and an empty list is not a dict; the real "
    "dashboard answers {'rules': []} for a new network too, so this is the collection, not the "
    "sandbox. The playbook uses the deprecated meraki_mx_nat (host/use_https) instead."
)


def legacy_connection_args(base_url: str, api_key: str) -> dict[str, Any]:
    """The older modules (module_utils, not the SDK) build https://HOST/api/v1/...: host + http."""
    split = urlsplit(base_url)
    if split.path.rstrip("/") != "/api/v1":
        raise ValueError(f"the legacy modules always use /api/v1, not {split.path}")
    return {
        "auth_key": api_key,
        "host": split.netloc,
        "use_https": split.scheme == "https",
        "validate_certs": False,
        "output_level": "normal",
    }


def _legacy_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A portForwardingRules entry in the legacy module's snake_case options."""
    keys = {
        "name": "name",
        "lanIp": "lan_ip",
        "uplink": "uplink",
        "protocol": "protocol",
        "publicPort": "public_port",
        "localPort": "local_port",
        "allowedIps": "allowed_ips",
    }
    return {keys[k]: v for k, v in rule.items() if k in keys}


def site_vars(org: str, sheet: Sheet) -> dict[str, Any]:
    """One inventory host per site: what the tasks need, taken from the sheet's dashboard view."""
    view = dashboard_view(sheet, secret_key=b"ansible")
    appliance = view.get("appliance") or {}
    wireless = view.get("wireless") or {}
    psks = {s.number: s.psk.reveal() for s in sheet.ssids or [] if s.psk is not None}
    ssids = []
    for number, body in (wireless.get("ssids") or {}).items():
        item = {k: v for k, v in body.items() if k != "psk"}
        if int(number) in psks:
            item["psk"] = psks[int(number)]
        ssids.append({"number": str(number), **item})
    vlans = []
    for vid, body in (appliance.get("vlans") or {}).items():
        item = {k: v for k, v in body.items() if k not in ("id", "fixedIpAssignments")}
        vlans.append({"id": str(vid), **item})
    return {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "org": org,
        "plan": sheet.site.plan.value,
        "network": view["network"],
        "devices": [
            {"serial": serial, "name": d["name"], "tags": d.get("tags") or []}
            for serial, d in (view.get("devices") or {}).items()
        ],
        "vlans": vlans,
        "l3_rules": (appliance.get("l3FirewallRules") or {}).get("rules"),
        "port_forwards": (appliance.get("portForwardingRules") or {}).get("rules"),
        "port_forwards_legacy": [
            _legacy_rule(r) for r in (appliance.get("portForwardingRules") or {}).get("rules", [])
        ],
        "content_filtering": appliance.get("contentFiltering"),
        "intrusion": appliance.get("security/intrusion"),
        "malware": appliance.get("security/malware"),
        "ssids": ssids,
        "rf_profiles": list((wireless.get("rfProfiles") or {}).values()),
    }


def inventory(sites: list[tuple[str, Sheet]]) -> dict[str, Any]:
    hosts = {f"site{i:04d}": site_vars(org, sheet) for i, (org, sheet) in enumerate(sites)}
    return {"all": {"hosts": hosts}}


def _task(name: str, module: str, args: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A task of an SDK-based module; `playbook` adds the connection arguments (CONN)."""
    return {"name": name, f"cisco.meraki.{module}": {**args, CONN: True}, **extra}


CONN = "__connection__"


VLAN_QUIRK = (
    "cisco.meraki.networks_appliance_vlans creates a missing VLAN with createNetworkApplianceVlan "
    "only (its create_params carry no reservedIpRanges, as the dashboard's POST takes none) and "
    "does not follow with an update: one run leaves the DHCP reservations unset; the playbook "
    "runs the same VLAN task a second time, which reads each VLAN and PUTs the reservations."
)


def vlan_task(name: str) -> dict[str, Any]:
    return _task(
        name,
        "networks_appliance_vlans",
        {
            "state": "present",
            "networkId": "{{ net_id }}",
            "id": "{{ item.id }}",  # the module reads `id` for the GET, `vlanId` for required_if
            "vlanId": "{{ item.id }}",
            "name": "{{ item.name }}",
            "subnet": "{{ item.subnet }}",
            "applianceIp": "{{ item.applianceIp }}",
            "dhcpHandling": "{{ item.dhcpHandling }}",
            "dhcpLeaseTime": "{{ item.dhcpLeaseTime }}",
            "dnsNameservers": "{{ item.dnsNameservers }}",
            "reservedIpRanges": "{{ item.reservedIpRanges }}",
        },
        loop="{{ vlans }}",
        loop_control={"label": "{{ item.id }}"},
        when="plan == 'utm'",
    )


def playbook(base_url: str, api_key: str) -> list[dict[str, Any]]:
    """The play: the same settings as the sheets, one module call per setting, per site host."""
    net = "{{ net_id }}"
    utm = "plan == 'utm'"
    tasks: list[dict[str, Any]] = [
        _task(
            "network",
            "networks",
            {
                "state": "present",
                "organizationId": "{{ org }}",
                "name": "{{ network.name }}",
                "productTypes": "{{ network.productTypes }}",
                "timeZone": "{{ network.timeZone }}",
            },
            register="created",
        ),
        {
            "name": "network id",
            "ansible.builtin.set_fact": {"net_id": "{{ created.meraki_response.id }}"},
        },
        _task(
            "claim devices",
            "networks_devices_claim",
            {"networkId": net, "serials": "{{ devices | map(attribute='serial') | list }}"},
        ),
        _task(
            "device names",
            "devices",
            {
                "state": "present",
                "serial": "{{ item.serial }}",
                "name": "{{ item.name }}",
                "tags": "{{ item.tags }}",
                "organizationId": "{{ org }}",
            },
            loop="{{ devices }}",
        ),
        _task(
            "enable VLANs",
            "networks_appliance_vlans_settings",
            {"state": "present", "networkId": net, "vlansEnabled": True},
            when=utm,
        ),
        vlan_task("VLANs with DHCP"),
        vlan_task("VLANs again: DHCP reservations (see VLAN_QUIRK)"),
        _task(
            "drop the factory VLAN 1",
            "networks_appliance_vlans",
            {"state": "absent", "networkId": net, "id": "1", "vlanId": "1"},
            when=utm,
        ),
        _task(
            "L3 firewall rules",
            "networks_appliance_firewall_l3_firewall_rules",
            {"state": "present", "networkId": net, "rules": "{{ l3_rules }}"},
            when=utm,
        ),
        {  # see PORT_FORWARDING_QUIRK: the SDK-based module cannot start from an empty list
            "name": "port forwarding (legacy module)",
            "cisco.meraki.meraki_mx_nat": {
                **legacy_connection_args(base_url, api_key),
                "state": "present",
                "org_id": "{{ org }}",
                "net_id": net,
                "subset": ["port_forwarding"],
                "port_forwarding": "{{ port_forwards_legacy }}",
            },
            "when": utm,
        },
        _task(
            "content filtering",
            "networks_appliance_content_filtering",
            {
                "state": "present",
                "networkId": net,
                "blockedUrlCategories": "{{ content_filtering.blockedUrlCategories }}",
                "blockedUrlPatterns": "{{ content_filtering.blockedUrlPatterns | default(omit) }}",
                "allowedUrlPatterns": "{{ content_filtering.allowedUrlPatterns | default(omit) }}",
            },
            when=utm,
        ),
        _task(
            "intrusion prevention",
            "networks_appliance_security_intrusion",
            {
                "state": "present",
                "networkId": net,
                "mode": "{{ intrusion.mode }}",
                "idsRulesets": "{{ intrusion.idsRulesets | default(omit) }}",
            },
            when=utm,
        ),
        _task(
            "malware protection",
            "networks_appliance_security_malware",
            {"state": "present", "networkId": net, "mode": "{{ malware.mode }}"},
            when=utm,
        ),
        _task(
            "SSIDs",
            "networks_wireless_ssids",
            {
                "state": "present",
                "networkId": net,
                "number": "{{ item.number }}",
                "name": "{{ item.name }}",
                "enabled": "{{ item.enabled }}",
                "authMode": "{{ item.authMode }}",
                "encryptionMode": "{{ item.encryptionMode | default(omit) }}",
                "wpaEncryptionMode": "{{ item.wpaEncryptionMode | default(omit) }}",
                "psk": "{{ item.psk | default(omit) }}",
                "ipAssignmentMode": "{{ item.ipAssignmentMode }}",
                "bandSelection": "{{ item.bandSelection }}",
                "visible": "{{ item.visible }}",
                "useVlanTagging": "{{ item.useVlanTagging }}",
            },
            loop="{{ ssids }}",
            loop_control={"label": "{{ item.number }}"},
            when="plan == 'wireless'",
        ),
        _task(
            "RF profiles",
            "networks_wireless_rf_profiles",
            {
                "state": "present",
                "networkId": net,
                "name": "{{ item.name }}",
                "bandSelectionType": "{{ item.bandSelectionType }}",
                "apBandSettings": "{{ item.apBandSettings | default(omit) }}",
                "twoFourGhzSettings": "{{ item.twoFourGhzSettings | default(omit) }}",
                "fiveGhzSettings": "{{ item.fiveGhzSettings | default(omit) }}",
                "minBitrateType": "{{ item.minBitrateType | default(omit) }}",
            },
            loop="{{ rf_profiles }}",
            when="plan == 'wireless'",
        ),
    ]
    conn = connection_args(base_url, api_key)
    for task in tasks:
        for args in task.values():
            if isinstance(args, dict) and args.pop(CONN, False):
                args.update(conn)
    return [
        {
            "name": "provision the sites (cisco.meraki)",
            "hosts": "all",
            "connection": "local",
            "gather_facts": False,
            "tasks": tasks,
        }
    ]


def write_project(folder: Path, sites: list[tuple[str, Sheet]], base_url: str) -> Path:
    """inventory.json, playbook.yml and ansible.cfg in `folder`; returns the playbook path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "inventory.json").write_text(
        json.dumps(inventory(sites), ensure_ascii=False, indent=1), encoding="utf-8"
    )
    book = folder / "playbook.yml"
    book.write_text(  # JSON is YAML
        json.dumps(playbook(base_url, API_KEY), ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return book


def run_playbook(
    sites: list[tuple[str, Sheet]], base_url: str, *, forks: int, folder: Path
) -> dict[str, Any]:
    """Render and run the playbook; count failed tasks from the JSON callback."""
    book = write_project(folder, sites, base_url)
    home = folder / "home"  # the SDK's smart-flow cache and ~/.ansible stay out of the real home
    home.mkdir(exist_ok=True)
    env = {
        "PATH": f"{VENV / 'bin'}:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
        "ANSIBLE_FORKS": str(forks),
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_NOCOLOR": "1",
    }
    started = time.monotonic()
    done = subprocess.run(
        [str(venv_bin("ansible-playbook")), "-i", str(folder / "inventory.json"), str(book)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    (folder / "ansible.out.json").write_text(done.stdout, encoding="utf-8")
    (folder / "ansible.err.txt").write_text(done.stderr, encoding="utf-8")
    return {"seconds": seconds, "returncode": done.returncode, **task_failures(done.stdout)}


def task_failures(stdout: str) -> dict[str, Any]:
    """Failed tasks (per host and loop item) and the first few messages, from the JSON output."""
    start = stdout.find("{")
    try:
        out = json.loads(stdout[start:]) if start >= 0 else {}
    except json.JSONDecodeError:
        return {"failures": -1, "messages": [stdout[-2000:]]}
    stats = out.get("stats", {})
    failed_hosts = {h: s.get("failures", 0) + s.get("unreachable", 0) for h, s in stats.items()}
    messages: list[str] = []
    failed_tasks = 0
    for play in out.get("plays", []):
        for task in play.get("tasks", []):
            for host, result in task.get("hosts", {}).items():
                items = result.get("results") or [result]
                for item in items:
                    if item.get("failed"):
                        failed_tasks += 1
                        if len(messages) < 8:
                            messages.append(f"{host} {task['task']['name']}: {item.get('msg')}")
    return {
        "failures": failed_tasks,
        "failed_hosts": sum(1 for n in failed_hosts.values() if n),
        "messages": messages,
    }


if __name__ == "__main__":
    if "--install" in sys.argv:
        print(ensure_ansible())
