"""VPN service (Option (4)): eligibility, construction, client users, status reports."""
