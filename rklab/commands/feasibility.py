"""``rklab feasibility``: one row per catalog model with predicted memory, speed and a verdict."""

from __future__ import annotations

import json
import sys

from rklab.texttable import render


def _run(args) -> int:
    # the engine (pandas, the catalog, the calibration) is imported when the command runs: start-up cost
    from rklab.predict.feasibility import feasibility_table

    df = feasibility_table(board=args.board, context=args.context, lang=args.lang, dtype=args.dtype)
    cols = ["model", "dtype", "memory_mb", "budget_mb", "predicted_decode_tps", "predicted_ttft_ms", "verdict_label", "reason"]
    if args.format == "json":
        records = json.loads(df.to_json(orient="records", force_ascii=False))
        print(json.dumps(records, ensure_ascii=False, indent=1))
    elif args.format == "csv":
        df.to_csv(sys.stdout, index=False)
    else:
        print(render(df, cols, lang=args.lang, fmt=args.format))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("feasibility", help="which catalog models fit on a board (predicted)")
    p.add_argument("--board", default="rk3588-8gb",
                   help="board YAML name in data/boards (default rk3588-8gb; also rk3588-16gb, rk3576-8gb, "
                        "rk3562-4gb, rv1126b-4gb)")
    p.add_argument("--dtype", default="w8a8", help="quantization for every row (default w8a8, which every SoC has)")
    p.add_argument("--context", type=int, default=4096, help="max_context_len in tokens (default 4096)")
    p.add_argument("--format", choices=["table", "csv", "json", "md"], default="table")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="label language (default zh)")
    p.set_defaults(func=_run)
