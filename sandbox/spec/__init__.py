"""The Dashboard API's published operations, as the sandbox and the spec tests see them.

Cisco's OpenAPI files (github.com/meraki/openapi) carry no licence, so nothing of them is vendored:
the operations are read from the installed ``meraki`` SDK (MIT), which is generated from that
specification — each function's HTTP method, path, body/query parameters with their documented
types, enums and the batch helpers of ``meraki/api/batch/`` (see ``sandbox/spec/sdk.py``).
"""
