"""The vision plugin's losses: one pure function per file (hinge, AugSelf D and G terms)."""

__all__: list[str] = []
