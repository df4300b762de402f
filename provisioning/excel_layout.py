"""The workbook layout: each tab, its section and shape, and its columns with both headers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from provisioning.sheet_enums import (
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
    SheetKind,
    UrlCategoryListSize,
    VpnMode,
    WpaEncryptionMode,
)
from provisioning.sheet_model import FORMAT
from provisioning.sheet_wireless import MIN_BITRATES_5, MIN_BITRATES_24

EMPTY_MARKER: Final = "(なし) none"


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
        _c("contract", "契約番号", "Contract", example="C-2026-0005"),
        _c("organizationId", "組織ID", "Organization ID"),
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
        _c("rfProfile", "RFプロファイル (APのみ)", "RF profile (APs only)"),
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
           example="N_demo_tokyo"),
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


def example_secret_variables(plan: Plan) -> list[str]:
    """The environment variables the example row's `env:` secrets name, for the user to set."""
    examples = (
        c.example for tab in tabs_for(plan) for c in tab.all_columns if c.cell is Cell.SECRET
    )
    return sorted({e[4:] for e in examples if isinstance(e, str) and e.startswith("env:")})
