"""Wireless site survey: floors, measurements, planned APs, the preparation sheet and approval."""
