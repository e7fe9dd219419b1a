"""Qt-free restoration engine."""
