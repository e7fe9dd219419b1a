"""Headless commands over core and library."""
