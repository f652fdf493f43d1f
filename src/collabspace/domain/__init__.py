"""Domain layer: the space's rules, independent of any frontend.

Modules here use the storage layer only; they never import a CLI, web or MCP
library. Every key in the bucket is spelled by :mod:`.paths`.
"""
