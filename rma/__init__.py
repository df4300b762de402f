"""Advance send-back maintenance: failure reports, replacements, returns and damage charges."""
