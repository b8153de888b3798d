"""rklab: which LLMs and VLMs fit on an RK3588 board, and how fast they run.

Every number rklab shows is one of three kinds and says so:
measured (where, on what), predicted (by which model) or quoted (from whom).
"""

__version__ = "0.1.0"
