"""Inference runtimes behind one interface: RKLLM (NPU, librkllmrt.so) and llama.cpp (CPU)."""
