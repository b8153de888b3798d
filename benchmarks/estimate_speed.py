"""How cheap is rklab.predict.feasibility.estimate after the first call? (Other tools call it per sweep entry.)

Prints the first-call time (loads YAML/CSV, fits the calibration) and the mean time of later calls,
and their ratio. Target: later calls well under 1 ms, i.e. no file I/O per call.
"""

import time

from rklab.predict.feasibility import estimate, feasibility_table

t0 = time.perf_counter()
estimate("Qwen3-0.6B")
first = time.perf_counter() - t0
n = 2000
t0 = time.perf_counter()
for i in range(n):
    estimate("Qwen3-VL-2B" if i % 2 else "Qwen3-4B", prompt_tokens=128 + i % 7)
later = (time.perf_counter() - t0) / n
t0 = time.perf_counter()
feasibility_table(lang="en")
table = time.perf_counter() - t0
print(f"first call {first * 1e3:.1f} ms; later calls {later * 1e6:.0f} us each; ratio first/later {first / later:.0f}x; "
      f"full 20-model table {table * 1e3:.1f} ms")
