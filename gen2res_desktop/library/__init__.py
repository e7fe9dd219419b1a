"""Qt-free album store."""
