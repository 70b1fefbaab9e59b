"""Reusable heads and pieces of the joint-embedding methods: MLPs, the DINO head,
Sinkhorn-Knopp, a rank-gathering queue, the EMA teacher, MYOW's view mining."""

__all__: list[str] = []
