"""SLA credits (seeds 004 and 000): monthly fee waived for long outages, per contract policy."""
