"""The one Meraki dashboard adapter package: every SDK call netkeep makes goes through here.

- `session.build_sdk` is the only place a `meraki.DashboardAPI` is made;
- `transport.RequestMeter` is the one seam every HTTP request passes (pacing under the
  per-organization budget, request accounting); a shared budget or a spec check plugs in there;
- `errors.translated_errors` turns SDK and transport errors into our `DashboardError`;
- the adapters implement the ports the domains own: `meraki.MerakiDashboard` (inventory, RMA),
  `provisioning.MerakiProvisioning`, `vpn.MerakiVpnDashboard`.

Domains never import this package; the CLI, the API's dependencies and benchmarks build the
adapters and hand them to the services.
"""
