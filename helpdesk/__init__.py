"""Helpdesk incidents (seed 003): one question, one incident; auto-close; after-hours charges."""
