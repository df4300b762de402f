"""The Excel form of a sheet: one tab per section, Japanese headers in row 1, English in row 2.

Data starts on row 3. Nested lists (DHCP reserved ranges, fixed IPs, 1:1 NAT inbound rules, RADIUS
servers) have their own tab whose first column names the parent row (VLAN ID, public IP, SSID
number). A list tab whose first data cell is ``(なし) none`` is an empty list, which a change
request uses to clear a section; an empty tab leaves the section out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from core.errors import Problem
from provisioning.sheet_model import (
    FORMAT,
    MIN_BITRATES_5,
    MIN_BITRATES_24,
    AuthMode,
    BandOperationMode,
    BandSelection,
    BandSelectionType,
    ChannelWidth,
    DhcpHandling,
    DhcpLeaseTime,
    FirewallPolicy,
    FirewallProtocol,
    ForwardingProtocol,
    ForwardingUplink,
    IdsRuleset,
    IntrusionMode,
    IpAssignmentMode,
    L7Policy,
    L7Type,
    MalwareMode,
    NatInboundProtocol,
    NatUplink,
    Plan,
    Sheet,
    SheetKind,
    UrlCategoryListSize,
    VpnMode,
    WpaEncryptionMode,
    sheet_to_raw,
)
from provisioning.validation import Loc, SheetSource

EMPTY_MARKER: Final = "(なし) none"
_EMPTY_WORDS: Final = frozenset({EMPTY_MARKER.casefold(), "(なし)", "(none)", "なし", "none"})
_TRUE: Final = frozenset({"true", "yes", "y", "1", "はい", "有効", "○", "◯", "on"})
_FALSE: Final = frozenset({"false", "no", "n", "0", "いいえ", "無効", "×", "off"})
LAST_ROW: Final = 500
_HEADER_FILL: Final = PatternFill("solid", fgColor="DDEBF7")
_ENGLISH_FILL: Final = PatternFill("solid", fgColor="F2F2F2")


class Cell(StrEnum):
    """How a column's cells are read and written."""

    TEXT = "text"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    LIST = "list"
    ENUM = "enum"
    DATE = "date"
    SECRET = "secret"


class Shape(StrEnum):
    """How a tab's rows become the sheet's data."""

    ROOT = "root"  # one row of top-level keys (the cover)
    SINGLE = "single"  # one row: one object section
    LIST = "list"  # one row per item of a list section
    CHILD_LIST = "child_list"  # one row per item of a list inside a parent row
    CHILD_MAP = "child_map"  # one row per entry of a mapping inside a parent row
    PART_LIST = "part_list"  # one row per item of a list inside a single-object section


@dataclass(frozen=True)
class Column:
    """One column: the dotted key inside the item, its headers and how cells are typed."""

    key: str
    ja: str
    en: str
    cell: Cell = Cell.TEXT
    choices: tuple[str, ...] = ()
    example: object = None

    @property
    def path(self) -> tuple[str, ...]:
        """The key as a location path."""
        return tuple(self.key.split("."))


@dataclass(frozen=True)
class Tab:
    """One worksheet of the workbook and the section it holds."""

    title: str
    section: str
    shape: Shape
    columns: tuple[Column, ...]
    plans: frozenset[Plan]
    parent_key: str = ""
    child_field: str = ""
    map_key: str = ""
    parent_header: tuple[str, str] = ("", "")
    parent_example: object = None
    example_row: bool = True

    @property
    def all_columns(self) -> tuple[Column, ...]:
        """Columns as laid out, the parent reference first on a child tab."""
        if self.shape in (Shape.CHILD_LIST, Shape.CHILD_MAP):
            ja, en = self.parent_header
            parent = Column(f"@{self.parent_key}", ja, en, Cell.TEXT, example=self.parent_example)
            return (parent, *self.columns)
        return self.columns


def _enum(kind: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in kind)


def _c(key: str, ja: str, en: str, cell: Cell = Cell.TEXT, example: object = None) -> Column:
    return Column(key, ja, en, cell, example=example)


def _e(key: str, ja: str, en: str, kind: type[StrEnum], example: object = None) -> Column:
    return Column(key, ja, en, Cell.ENUM, _enum(kind), example)


ALL: Final = frozenset(Plan)
APPLIANCE: Final = frozenset({Plan.UTM, Plan.ROUTER})
UTM: Final = frozenset({Plan.UTM})
WIRELESS: Final = frozenset({Plan.WIRELESS})
W1 = "managementInterface.wan1."

# fmt: off
TABS: Final[tuple[Tab, ...]] = (
    Tab("表紙 Cover", "", Shape.ROOT, (
        _c("format", "書式", "Format", example=FORMAT),
        _e("kind", "種別", "Kind", SheetKind, "settings"),
        _c("request.id", "依頼番号", "Request ID", example="CR-2025-0042"),
        _c("request.customer", "顧客名", "Customer", example="株式会社さくら商事"),
        _c("request.requester", "依頼者", "Requester", example="総務部 山田 太郎"),
        _c("request.date", "依頼日", "Request date", Cell.DATE, dt.date(2025, 4, 1)),
        _c("request.summary", "依頼内容", "Summary", example="来客用SSIDの追加"),
    ), ALL),
    Tab("サイト Site", "site", Shape.SINGLE, (
        _c("name", "サイト名", "Network name", example="さくら商事 本社"),
        _e("plan", "プラン", "Plan", Plan),
        _c("timeZone", "タイムゾーン", "Time zone", example="Asia/Tokyo"),
        _c("address", "住所", "Address", example="東京都千代田区丸の内1-1-1"),
        _c("customer", "顧客名", "Customer", example="株式会社さくら商事"),
    ), ALL),
    Tab("機器 Devices", "devices", Shape.LIST, (
        _c("serial", "シリアル番号", "Serial", example="Q2FY-AAAA-0002"),
        _c("model", "型番", "Model", example="MX67"),
        _c("name", "機器名", "Name", example="本社-MX67"),
        _c("address", "設置住所", "Address", example="東京都千代田区丸の内1-1-1"),
        _c("tags", "タグ", "Tags", Cell.LIST, "本社\nutm"),
        _c(W1 + "usingStaticIp", "WAN1 固定IP", "WAN1 static IP", Cell.BOOL, True),
        _c(W1 + "staticIp", "WAN1 IPアドレス", "WAN1 IP", example="203.0.113.10"),
        _c(W1 + "staticSubnetMask", "WAN1 サブネットマスク", "WAN1 subnet mask",
           example="255.255.255.248"),
        _c(W1 + "staticGatewayIp", "WAN1 ゲートウェイ", "WAN1 gateway", example="203.0.113.9"),
        _c(W1 + "staticDns", "WAN1 DNSサーバ", "WAN1 DNS", Cell.LIST, "8.8.8.8\n1.1.1.1"),
        _c(W1 + "vlan", "WAN1 VLAN", "WAN1 VLAN", Cell.INT),
    ), ALL),
    Tab("VLAN", "vlans", Shape.LIST, (
        _c("id", "VLAN ID", "VLAN ID", Cell.INT, 10),
        _c("name", "名前", "Name", example="業務LAN"),
        _c("subnet", "サブネット", "Subnet", example="192.168.10.0/24"),
        _c("applianceIp", "MXのIPアドレス", "Appliance IP", example="192.168.10.1"),
        _e("dhcpHandling", "DHCP動作", "DHCP handling", DhcpHandling, "run"),
        _e("dhcpLeaseTime", "リース期間", "Lease time", DhcpLeaseTime, "1 day"),
        _c("dhcpRelayServerIps", "DHCPリレー先", "DHCP relay servers", Cell.LIST),
        _c("dnsNameservers", "DNSサーバ", "DNS nameservers", Cell.LIST, "upstream_dns"),
    ), APPLIANCE),
    Tab("DHCP予約範囲 Reserved ranges", "vlans", Shape.CHILD_LIST, (
        _c("start", "開始IP", "Start", example="192.168.10.200"),
        _c("end", "終了IP", "End", example="192.168.10.220"),
        _c("comment", "コメント", "Comment", example="固定機器用"),
    ), APPLIANCE, "id", "reservedIpRanges", parent_header=("VLAN ID", "VLAN ID"),
        parent_example=10),
    Tab("固定IP割当 Fixed IPs", "vlans", Shape.CHILD_MAP, (
        _c("mac", "MACアドレス", "MAC", example="00:18:0a:12:34:56"),
        _c("ip", "IPアドレス", "IP", example="192.168.10.20"),
        _c("name", "名前", "Name", example="複合機"),
    ), APPLIANCE, "id", "fixedIpAssignments", "mac", ("VLAN ID", "VLAN ID"), 10),
    Tab("L3ファイアウォール L3 firewall", "l3FirewallRules", Shape.LIST, (
        _e("policy", "ポリシー", "Policy", FirewallPolicy, "deny"),
        _e("protocol", "プロトコル", "Protocol", FirewallProtocol, "tcp"),
        _c("srcCidr", "送信元", "Source CIDR", example="192.168.10.0/24"),
        _c("srcPort", "送信元ポート", "Source port", example="any"),
        _c("destCidr", "宛先", "Destination CIDR", example="any"),
        _c("destPort", "宛先ポート", "Destination port", example="23"),
        _c("comment", "コメント", "Comment", example="Telnet禁止"),
        _c("syslogEnabled", "Syslog出力", "Syslog", Cell.BOOL, False),
    ), APPLIANCE),
    Tab("L7ファイアウォール L7 firewall", "l7FirewallRules", Shape.LIST, (
        _e("policy", "ポリシー", "Policy", L7Policy, "deny"),
        _e("type", "種別", "Type", L7Type, "host"),
        _c("value", "値", "Value", example="example.com"),
    ), APPLIANCE),
    Tab("ポートフォワーディング Port forwarding", "portForwardingRules", Shape.LIST, (
        _c("name", "説明", "Name", example="監視カメラ"),
        _e("protocol", "プロトコル", "Protocol", ForwardingProtocol, "tcp"),
        _c("publicPort", "公開ポート", "Public port", example="8443"),
        _c("lanIp", "LAN IP", "LAN IP", example="192.168.10.30"),
        _c("localPort", "転送先ポート", "Local port", example="443"),
        _c("allowedIps", "許可するリモートIP", "Allowed remote IPs", Cell.LIST, "any"),
        _e("uplink", "アップリンク", "Uplink", ForwardingUplink, "both"),
    ), APPLIANCE),
    Tab("1対1NAT One-to-one NAT", "oneToOneNatRules", Shape.LIST, (
        _c("name", "説明", "Name", example="Webサーバ"),
        _c("publicIp", "パブリックIP", "Public IP", example="203.0.113.11"),
        _c("lanIp", "LAN IP", "LAN IP", example="192.168.10.40"),
        _e("uplink", "アップリンク", "Uplink", NatUplink, "internet1"),
    ), APPLIANCE),
    Tab("1対1NAT許可 NAT inbound", "oneToOneNatRules", Shape.CHILD_LIST, (
        _e("protocol", "プロトコル", "Protocol", NatInboundProtocol, "tcp"),
        _c("destinationPorts", "宛先ポート", "Ports", Cell.LIST, "443"),
        _c("allowedIps", "許可するリモートIP", "Allowed remote IPs", Cell.LIST, "any"),
    ), APPLIANCE, "publicIp", "allowedInbound", parent_header=("パブリックIP", "Public IP"),
        parent_example="203.0.113.11"),
    Tab("サイト間VPN Site-to-site VPN", "siteToSiteVpn", Shape.SINGLE, (
        _e("mode", "モード", "Mode", VpnMode, "spoke"),
    ), APPLIANCE),
    Tab("VPNハブ VPN hubs", "siteToSiteVpn", Shape.PART_LIST, (
        _c("hubId", "ハブ(ネットワークIDまたは名前)", "Hub (network ID or name)",
           example="N_24329156"),
        _c("useDefaultRoute", "デフォルトルート", "Use default route", Cell.BOOL, False),
    ), APPLIANCE, child_field="hubs"),
    Tab("VPNサブネット VPN subnets", "siteToSiteVpn", Shape.PART_LIST, (
        _c("localSubnet", "ローカルサブネット", "Local subnet", example="192.168.10.0/24"),
        _c("useVpn", "VPN参加", "Use VPN", Cell.BOOL, True),
    ), APPLIANCE, child_field="subnets"),
    Tab("コンテンツフィルタ Content filter", "contentFiltering", Shape.SINGLE, (
        _c("blockedUrlCategories", "ブロックするカテゴリ", "Blocked URL categories", Cell.LIST,
           "meraki:contentFiltering/category/C7"),
        _c("allowedUrlPatterns", "許可するURL", "Allowed URL patterns", Cell.LIST),
        _c("blockedUrlPatterns", "ブロックするURL", "Blocked URL patterns", Cell.LIST),
        _e("urlCategoryListSize", "カテゴリリスト", "URL category list size",
           UrlCategoryListSize, "topSites"),
    ), UTM),
    Tab("IPS", "intrusion", Shape.SINGLE, (
        _e("mode", "モード", "Mode", IntrusionMode, "prevention"),
        _e("idsRulesets", "ルールセット", "Ruleset", IdsRuleset, "balanced"),
    ), UTM),
    Tab("マルウェア対策 Malware", "malware", Shape.SINGLE, (
        _e("mode", "モード", "Mode", MalwareMode, "enabled"),
        _c("allowedUrls", "許可するURL", "Allowed URLs", Cell.LIST),
        _c("allowedFiles", "許可するファイル(SHA-256)", "Allowed files (SHA-256)", Cell.LIST),
    ), UTM),
    Tab("SSID", "ssids", Shape.LIST, (
        _c("number", "SSID番号", "Number", Cell.INT, 0),
        _c("name", "SSID名", "Name", example="SAKURA-STAFF"),
        _c("enabled", "有効", "Enabled", Cell.BOOL, True),
        _e("authMode", "認証方式", "Auth mode", AuthMode, "psk"),
        _e("wpaEncryptionMode", "暗号化方式", "WPA encryption", WpaEncryptionMode, "wpa2"),
        _c("psk", "事前共有キー", "PSK", Cell.SECRET, "env:SAKURA_STAFF_PSK"),
        _e("ipAssignmentMode", "IP割当", "IP assignment", IpAssignmentMode, "bridge"),
        _c("useVlanTagging", "VLANタグ付け", "VLAN tagging", Cell.BOOL, True),
        _c("defaultVlanId", "VLAN ID", "Default VLAN ID", Cell.INT, 10),
        _e("bandSelection", "帯域選択", "Band selection", BandSelection, "dual-steering"),
        _c("visible", "SSID公開", "Visible", Cell.BOOL, True),
    ), WIRELESS),
    Tab("RADIUSサーバ RADIUS", "ssids", Shape.CHILD_LIST, (
        _c("host", "ホスト", "Host", example="192.168.10.5"),
        _c("port", "ポート", "Port", Cell.INT, 1812),
        _c("secret", "共有シークレット", "Secret", Cell.SECRET, "env:SAKURA_RADIUS_SECRET"),
    ), WIRELESS, "number", "radiusServers", parent_header=("SSID番号", "SSID number"),
        parent_example=1, example_row=False),
    Tab("RFプロファイル RF profiles", "rfProfiles", Shape.LIST, (
        _c("name", "プロファイル名", "Name", example="事務所標準"),
        _e("bandSelectionType", "帯域選択単位", "Band selection type", BandSelectionType, "ap"),
        _e("apBandSettings.bandOperationMode", "動作帯域", "AP band mode", BandOperationMode,
           "dual"),
        Column("twoFourGhzSettings.minBitrate", "2.4GHz 最小ビットレート", "2.4 GHz min bitrate",
               Cell.FLOAT, tuple(f"{b:g}" for b in MIN_BITRATES_24), 11),
        _c("twoFourGhzSettings.minPower", "2.4GHz 最小出力(dBm)", "2.4 GHz min power", Cell.INT,
           5),
        _c("twoFourGhzSettings.maxPower", "2.4GHz 最大出力(dBm)", "2.4 GHz max power", Cell.INT,
           30),
        Column("fiveGhzSettings.minBitrate", "5GHz 最小ビットレート", "5 GHz min bitrate",
               Cell.FLOAT, tuple(f"{b:g}" for b in MIN_BITRATES_5), 12),
        _c("fiveGhzSettings.minPower", "5GHz 最小出力(dBm)", "5 GHz min power", Cell.INT, 8),
        _c("fiveGhzSettings.maxPower", "5GHz 最大出力(dBm)", "5 GHz max power", Cell.INT, 30),
        _e("fiveGhzSettings.channelWidth", "5GHz チャネル幅", "5 GHz channel width",
           ChannelWidth, "auto"),
    ), WIRELESS),
)
# fmt: on
"""Every tab in workbook order; parents come before their child tabs."""


def tabs_for(plan: Plan) -> tuple[Tab, ...]:
    """The tabs a workbook for this plan carries."""
    return tuple(tab for tab in TABS if plan in tab.plans)


def _tab_named(title: str) -> Tab | None:
    wanted = title.strip().casefold()
    for tab in TABS:
        names = {tab.title.casefold(), *(part.casefold() for part in tab.title.split(" ", 1))}
        if wanted in names:
            return tab
    return None


def _section_tabs() -> dict[str, str]:
    tabs: dict[str, str] = {"format": TABS[0].title, "kind": TABS[0].title}
    tabs["request"] = TABS[0].title
    for tab in TABS:
        if tab.section and tab.shape in (Shape.SINGLE, Shape.LIST):
            tabs[tab.section] = tab.title
    return tabs


# --- reading ----------------------------------------------------------------------------------


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def read_cell(value: object, cell: Cell) -> object:
    """An Excel cell value as the raw sheet value for its column type."""
    if cell is Cell.BOOL:
        if isinstance(value, bool):
            return value
        word = _number_text(value).casefold()
        return True if word in _TRUE else False if word in _FALSE else word
    if cell is Cell.INT:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value if isinstance(value, int) else _number_text(value)
    if cell is Cell.FLOAT:
        return value if isinstance(value, int | float) else _number_text(value)
    if cell is Cell.LIST:
        parts = str(value).replace(",", "\n").splitlines()
        return [_number_text(p) for p in parts if p.strip()]
    if cell is Cell.DATE:
        if isinstance(value, dt.datetime):
            return value.date()
        return value if isinstance(value, dt.date) else _number_text(value)
    return _number_text(value)


def _put(target: dict[str, Any], path: tuple[str, ...], value: object) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


@dataclass
class _Reader:
    """Reads one workbook into the raw sheet, remembering the cell behind every value."""

    source: SheetSource
    raw: dict[str, Any] = field(default_factory=dict)

    def problem(self, message: str, where: str) -> None:
        self.source.problems.append(Problem(message, where))

    def columns(self, ws: Any, tab: Tab) -> dict[int, Column]:
        """Map sheet columns to tab columns by the English (row 2) or Japanese (row 1) header."""
        by_name: dict[str, Column] = {}
        for column in tab.all_columns:
            by_name.setdefault(column.en.casefold(), column)
            by_name.setdefault(column.ja.casefold(), column)
        found: dict[int, Column] = {}
        for index in range(1, ws.max_column + 1):
            en, ja = ws.cell(2, index).value, ws.cell(1, index).value
            if _blank(en) and _blank(ja):
                continue
            known = by_name.get(str(en).strip().casefold()) or by_name.get(
                str(ja).strip().casefold()
            )
            if known is None:
                letter = get_column_letter(index)
                self.problem(
                    f"column {en or ja!s} is not a column of this tab", _at(tab, letter, 2)
                )
            else:
                found[index] = known
        return found

    def rows(self, ws: Any, columns: Mapping[int, Column]) -> Iterable[tuple[int, dict[int, Any]]]:
        for row in range(3, ws.max_row + 1):
            values = {i: ws.cell(row, i).value for i in columns}
            if not all(_blank(v) for v in values.values()):
                yield row, values

    def read(self, ws: Any, tab: Tab) -> None:
        columns = self.columns(ws, tab)
        rows = list(self.rows(ws, columns))
        first = min(columns, default=1)
        if rows and str(rows[0][1].get(first) or "").strip().casefold() in _EMPTY_WORDS:
            if tab.shape is Shape.LIST:
                self.raw[tab.section] = []
            elif tab.shape is Shape.PART_LIST:
                self._part(tab)[tab.child_field] = []
            else:
                self.problem(f"{EMPTY_MARKER} only empties a list tab", _at(tab, "A", rows[0][0]))
            return
        if tab.shape in (Shape.ROOT, Shape.SINGLE) and len(rows) > 1:
            self.problem("this tab holds one row (row 3); remove the others", _row(tab, rows[1][0]))
            rows = rows[:1]
        for position, (row, values) in enumerate(rows):
            self.read_row(tab, columns, position, row, values)

    def read_row(
        self,
        tab: Tab,
        columns: Mapping[int, Column],
        position: int,
        row: int,
        values: dict[int, Any],
    ) -> None:
        item: dict[str, Any] = {}
        cells: dict[tuple[str, ...], str] = {}
        parent_ref: tuple[object, str] | None = None
        for index, column in columns.items():
            where = _at(tab, get_column_letter(index), row)
            if column.key.startswith("@"):
                parent_ref = (values[index], where)
                continue
            cells[column.path] = where
            if not _blank(values[index]):
                _put(item, column.path, read_cell(values[index], column.cell))
        base: Loc
        if tab.shape is Shape.ROOT:
            self.raw.update(item)
            base = ()
        elif tab.shape is Shape.SINGLE:
            self.raw[tab.section] = item
            base = (tab.section,)
        elif tab.shape is Shape.LIST:
            self.raw.setdefault(tab.section, []).append(item)
            base = (tab.section, position)
        elif tab.shape is Shape.PART_LIST:
            self._part(tab).setdefault(tab.child_field, []).append(item)
            base = (tab.section, tab.child_field, position)
        else:
            found = self.attach(tab, item, parent_ref, row)
            if found is None:
                return
            base = found
        if base:
            self.source.cells[base] = _row(tab, row)
        for path, where in cells.items():
            self.source.cells[(*base, *path)] = where
            if tab.shape is Shape.CHILD_MAP and path == (tab.map_key,):
                self.source.cells[(*base, "[key]")] = where

    def _part(self, tab: Tab) -> dict[str, Any]:
        """The single-object section a part-list tab adds to (made if its own tab is empty)."""
        section = self.raw.get(tab.section)
        if not isinstance(section, dict):
            section = self.raw[tab.section] = {}
        return section

    def attach(
        self, tab: Tab, item: dict[str, Any], parent_ref: tuple[object, str] | None, row: int
    ) -> Loc | None:
        """Put a child row under its parent row; its location, or None if it has no parent."""
        header = tab.parent_header[1]
        if parent_ref is None or _blank(parent_ref[0]):
            where = parent_ref[1] if parent_ref else _row(tab, row)
            self.problem(f"{header} is required to say which row this belongs to", where)
            return None
        wanted, where = _number_text(parent_ref[0]).casefold(), parent_ref[1]
        parents: list[dict[str, Any]] = self.raw.get(tab.section) or []
        matches = [
            i
            for i, p in enumerate(parents)
            if _number_text(p.get(tab.parent_key, "")).casefold() == wanted
        ]
        if not matches:
            parent_title = _section_tabs().get(tab.section, tab.section)
            self.problem(f"{header} {parent_ref[0]} is not on tab {parent_title}", where)
            return None
        index = matches[0]
        parent = parents[index]
        if tab.shape is Shape.CHILD_LIST:
            children = parent.setdefault(tab.child_field, [])
            children.append(item)
            return (tab.section, index, tab.child_field, len(children) - 1)
        key = item.pop(tab.map_key, None)
        if key is None:
            self.problem(f"{tab.map_key} is required", _row(tab, row))
            return None
        mapping = parent.setdefault(tab.child_field, {})
        key = str(key)
        if key in mapping:
            self.problem(f"{tab.map_key} {key} is listed twice for {header} {parent_ref[0]}", where)
            return None
        mapping[key] = item
        return (tab.section, index, tab.child_field, key)


def _at(tab: Tab, letter: str, row: int) -> str:
    return f"tab {tab.title}, cell {letter}{row}"


def _row(tab: Tab, row: int) -> str:
    return f"tab {tab.title}, row {row}"


def read_workbook(path: str | Path) -> tuple[dict[str, Any], SheetSource]:
    """The raw sheet of a workbook and the cell each value came from."""
    file = Path(path)
    source = SheetSource(name=file.name, tabs=_section_tabs())
    try:
        workbook = load_workbook(file, data_only=True)
    except (OSError, ValueError, KeyError) as error:
        source.problems.append(Problem(f"cannot open the workbook: {error}", file.name))
        return {}, source
    reader = _Reader(source)
    by_tab: dict[str, Any] = {}
    for ws in workbook.worksheets:
        tab = _tab_named(ws.title)
        if tab is None:
            source.problems.append(Problem("is not a tab of a netkeep sheet", f"tab {ws.title}"))
        else:
            by_tab[tab.title] = ws
    for tab in TABS:
        if tab.title in by_tab:
            reader.read(by_tab[tab.title], tab)
    _fix_mac_keys(source)
    return reader.raw, source


def _fix_mac_keys(source: SheetSource) -> None:
    """Also register fixed-IP cells under the normalised MAC, which the rules report with."""
    for loc, where in list(source.cells.items()):
        if len(loc) > 3 and loc[2] == "fixedIpAssignments" and isinstance(loc[3], str):
            normal = loc[3].strip().lower().replace("-", ":")
            source.cells.setdefault((*loc[:3], normal, *loc[4:]), where)


# --- writing ----------------------------------------------------------------------------------


def write_cell(value: object, cell: Cell) -> object:
    """A raw sheet value as what goes into an Excel cell."""
    if value is None:
        return None
    if cell is Cell.LIST and isinstance(value, list):
        return "\n".join(str(v) for v in value) or None
    if cell is Cell.DATE and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if isinstance(value, bool | int | float | dt.date):
        return value
    return str(value)


def _get(item: Mapping[str, Any], path: tuple[str, ...]) -> object:
    value: object = item
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _new_workbook(plan: Plan) -> tuple[Workbook, dict[str, Any]]:
    workbook = Workbook()
    workbook.remove(workbook.active)
    sheets: dict[str, Any] = {}
    for tab in tabs_for(plan):
        ws = workbook.create_sheet(tab.title)
        _headers(ws, tab)
        sheets[tab.title] = ws
    return workbook, sheets


def _headers(ws: Any, tab: Tab) -> None:
    """Header rows, widths, frozen panes and a dropdown for every enum or yes/no column."""
    for index, column in enumerate(tab.all_columns, start=1):
        letter = get_column_letter(index)
        ja, en = ws.cell(1, index, column.ja), ws.cell(2, index, column.en)
        ja.font, ja.fill = Font(bold=True), _HEADER_FILL
        en.font, en.fill = Font(italic=True, color="595959"), _ENGLISH_FILL
        hint = _hint(column)
        if hint:
            en.comment = Comment(hint, "netkeep")
        width = max(len(column.en) + 4, _display_width(column.ja) + 4, 12)
        ws.column_dimensions[letter].width = min(width, 40)
        choices = column.choices or (("TRUE", "FALSE") if column.cell is Cell.BOOL else ())
        if choices:
            rule = DataValidation(type="list", formula1=f'"{",".join(choices)}"', allow_blank=True)
            rule.error = f"{', '.join(choices)} のいずれか / one of {', '.join(choices)}"
            rule.showErrorMessage = True
            ws.add_data_validation(rule)
            rule.add(f"{letter}3:{letter}{LAST_ROW}")
        if column.cell is Cell.LIST:
            for row in range(3, 53):
                ws.cell(row, index).alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A3"


def _hint(column: Column) -> str:
    parts = []
    if column.example is not None:
        parts.append(f"例 e.g. {write_cell(column.example, column.cell)}")
    if column.cell is Cell.LIST:
        parts.append("複数は改行またはカンマ区切り / several: one per line or comma-separated")
    if column.cell is Cell.SECRET:
        parts.append("env:変数名 で環境変数から読込 / env:NAME reads an environment variable")
    return "\n".join(parts)


def _display_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _write_rows(ws: Any, tab: Tab, items: Iterable[Mapping[str, Any]]) -> None:
    for row, item in enumerate(items, start=3):
        for index, column in enumerate(tab.all_columns, start=1):
            value = write_cell(_get(item, column.path), column.cell)
            if value is not None:
                ws.cell(row, index, value)


def _tab_items(tab: Tab, raw: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The rows a tab gets from a raw sheet; None when its list section is an explicit []."""
    if tab.shape is Shape.ROOT:
        return [dict(raw)]
    section = raw.get(tab.section)
    if tab.shape is Shape.SINGLE:
        return [section] if isinstance(section, dict) else []
    if tab.shape is Shape.LIST:
        return None if section == [] else list(section or [])
    if tab.shape is Shape.PART_LIST:
        part = section.get(tab.child_field) if isinstance(section, dict) else None
        return None if part == [] else list(part or [])
    rows: list[dict[str, Any]] = []
    for parent in section or []:
        ref = {f"@{tab.parent_key}": parent.get(tab.parent_key)}
        children: Any = parent.get(tab.child_field) or {}
        if tab.shape is Shape.CHILD_LIST:
            rows.extend({**ref, **child} for child in children)
        else:
            rows.extend({**ref, tab.map_key: key, **child} for key, child in children.items())
    return rows


def write_workbook(sheet: Sheet, path: str | Path, *, reveal_secrets: bool = False) -> Path:
    """Write a loaded sheet as a workbook that loads back to an equal sheet.

    Secrets read from the environment stay ``env:NAME``; secrets written in the sheet are masked
    unless ``reveal_secrets`` (a masked secret will not load back).
    """
    raw = sheet_to_raw(sheet, reveal_secrets=reveal_secrets)
    workbook, sheets = _new_workbook(sheet.site.plan)
    for tab in tabs_for(sheet.site.plan):
        items = _tab_items(tab, raw)
        if items is None:
            sheets[tab.title].cell(3, 1, EMPTY_MARKER)
        else:
            _write_rows(sheets[tab.title], tab, items)
    file = Path(path)
    workbook.save(file)
    return file


def write_template(
    plan: Plan | str,
    path: str | Path,
    kind: SheetKind | str = SheetKind.SETTINGS,
    *,
    example: bool = False,
) -> Path:
    """A blank workbook for a plan (format, kind and plan filled in), or one example row per tab."""
    plan, kind = Plan(plan), SheetKind(kind)
    workbook, sheets = _new_workbook(plan)
    for tab in tabs_for(plan):
        if example and tab.example_row:
            row = {c.key: c.example for c in tab.all_columns}
        elif tab.shape is Shape.ROOT:
            row = {"format": FORMAT}
        elif tab.shape is Shape.SINGLE and tab.section == "site":
            row = {}
        else:
            continue
        if tab.shape is Shape.ROOT:
            row["kind"] = kind.value
            if kind is SheetKind.SETTINGS:
                row = {k: v for k, v in row.items() if not k.startswith("request.")}
        if tab.section == "site":
            row["plan"] = plan.value
        if example and tab.section == "devices":
            row.update(_example_device(plan))
        ws = sheets[tab.title]
        for index, column in enumerate(tab.all_columns, start=1):
            value = write_cell(row.get(column.key), column.cell)
            if value is not None:
                ws.cell(3, index, value).font = Font(color="808080", italic=example)
    file = Path(path)
    workbook.save(file)
    return file


def _example_device(plan: Plan) -> dict[str, object]:
    if plan is Plan.WIRELESS:
        return {
            "serial": "Q3AJ-DDDD-0002",
            "model": "MR36",
            "name": "本社-1F-AP01",
            "tags": "本社\n1F",
            W1 + "usingStaticIp": False,
            W1 + "staticIp": None,
            W1 + "staticSubnetMask": None,
            W1 + "staticGatewayIp": None,
            W1 + "staticDns": None,
        }
    if plan is Plan.ROUTER:
        return {"serial": "Q2KY-BBBB-0001", "model": "MX68", "name": "本社-MX68"}
    return {}
