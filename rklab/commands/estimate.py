"""``rklab estimate``: memory breakdown, speed and verdict of one model (catalog name or config.json)."""

from __future__ import annotations

import json

from rklab.errors import RklabError


def _run(args) -> int:
    # the engine (pandas, the catalog, the calibration) is imported when the command runs: start-up cost
    from rklab.predict import boards, catalog, explain, feasibility

    if args.calibration:
        print(explain.calibration_report(args.lang))
        return 0
    if args.new_tokens < 1:
        raise RklabError(f"--new-tokens {args.new_tokens} is not allowed; generate at least 1 token")
    if not args.model and not args.hf_config:
        raise RklabError("give --model NAME (see data/models.yaml) or --hf-config PATH/config.json")
    if args.hf_config:
        model = catalog.ModelSpec.from_hf_config(args.hf_config)
    else:
        model = args.model
    with_vision = False if args.no_vision else None
    clocks = boards.Clocks(args.ddr_mhz, args.npu_mhz, args.cpu_mhz)
    e = feasibility.estimate(model, dtype=args.dtype, board=args.board, max_context=args.context,
                             prompt_tokens=args.prompt_tokens, new_tokens=args.new_tokens,
                             with_vision=with_vision, embed_flash=args.embed_flash, clocks=clocks)
    if args.json:
        print(json.dumps(e.to_dict(), ensure_ascii=False, indent=1))
    else:
        print(explain.estimate_report(e, args.lang))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("estimate", help="predicted memory breakdown, speed and verdict of one model")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--model", help="catalog model name, e.g. Qwen3-1.7B")
    src.add_argument("--hf-config", metavar="PATH", help="a Hugging Face config.json (LLM, MoE or VLM)")
    p.add_argument("--dtype", default="w8a8",
                   help="w8a8 (default), w8a8_g128/g256/g512, w4a16, w4a16_g32/g64/g128, w4a8_g32, fp16; "
                        "a dtype the board's SoC lacks gives the verdict 'unsupported' with the list it supports")
    p.add_argument("--prompt-tokens", type=int, default=128)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--context", type=int, default=None,
                   help="max_context_len: a multiple of 32, at most 16384 and the model's max_position "
                        "(default: the smaller of 4096 and the model's max_position)")
    p.add_argument("--board", default="rk3588-8gb", help="board YAML in data/boards (rk3588-8gb, rk3588-16gb, "
                                                         "rk3576-8gb, rk3562-4gb, rv1126b-4gb)")
    for clock, what in (("ddr", "DDR (devfreq dmc)"), ("npu", "NPU"), ("cpu", "big-cluster CPU")):
        p.add_argument(f"--{clock}-mhz", type=float, default=None, metavar="MHZ",
                       help=f"predict speed at this {what} clock (default: the board's pinned official clock)")
    p.add_argument("--no-vision", action="store_true", help="VLM: the language model alone (no encoder, no image)")
    p.add_argument("--embed-flash", type=int, choices=[0, 1], default=1,
                   help="1 (default): input embedding read from the model file; 0: held in RAM")
    p.add_argument("--json", action="store_true", help="print the estimate as JSON")
    p.add_argument("--lang", choices=["zh", "en"], default="en")
    p.add_argument("--calibration", action="store_true",
                   help="print the calibrated constants and the residuals on data/reference, then exit")
    p.set_defaults(func=_run)
