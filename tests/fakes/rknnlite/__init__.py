"""Test double of rknn-toolkit-lite2's ``rknnlite`` package (x86 CI only; never shipped)."""
