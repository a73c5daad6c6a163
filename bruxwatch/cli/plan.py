"""`bruxwatch plan`: the trial protocol. `plan set` writes baseline, feedback and withdrawal
blocks from an evening on; `record` follows them by date; `plan show` says tonight's block;
`plan clear` removes the plan.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from bruxwatch.cli.common import CliError, writing
from bruxwatch.errors import StoreError


def evening_date(text: str) -> dt.date:
    """--start: an evening as YYYY-MM-DD, or `today`/`tomorrow`."""
    from bruxwatch.cli.record import now
    from bruxwatch.store.local_time import evening_of

    words = {"today": 0, "tomorrow": 1}
    if text in words:
        return evening_of(now()) + dt.timedelta(days=words[text])
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date YYYY-MM-DD, today or tomorrow, got {text!r}"
        ) from None


def nights(text: str) -> int:
    """A block's length: nights (14) or weeks (2w)."""
    weeks = text.endswith("w")
    digits = text[:-1] if weeks else text
    if not digits.isdigit() or int(digits) * (7 if weeks else 1) > 366:
        raise argparse.ArgumentTypeError(
            f"expected a number of nights (14) or weeks (2w), at most a year, got {text!r}"
        )
    return int(digits) * (7 if weeks else 1)


def cmd_plan(args: argparse.Namespace) -> int:
    from bruxwatch.cli.record import now
    from bruxwatch.store.local_time import evening_of
    from bruxwatch.store.plan import load_plan, make_plan, plan_path, save_plan

    path = Path(args.plan) if args.plan else None
    shown = path or plan_path()
    if args.action == "set":
        plan = (
            make_plan(
                args.start or evening_of(now()),
                [
                    ("baseline", args.baseline),
                    ("feedback", args.feedback),
                    ("withdrawal", args.withdrawal),
                ],
            )
            if args.baseline + args.feedback + args.withdrawal
            else None
        )
        if plan is None:
            raise CliError("the plan has no nights: give --baseline, --feedback or --withdrawal")
        if path is not None and not path.parent.is_dir():
            raise CliError(f"{path.parent}: no such folder")
        with writing(shown):
            save_plan(plan, path)
        print(f"saved the plan to {shown}")
    elif args.action == "clear":
        if not shown.is_file():
            raise CliError(f"{shown}: no plan to clear")
        shown.unlink()
        print(f"removed {shown}; `record` uses --mode (default feedback) again")
        return 0
    try:
        plan = load_plan(path)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    if plan is None:
        raise CliError(f"no plan saved ({shown}); make one with `bruxwatch plan set`")
    for line in plan.lines(evening_of(now())):
        print(line)
    return 0


def add_plan_command(sub) -> None:
    """The `plan` command's arguments."""
    p = sub.add_parser(
        "plan",
        help="a trial: baseline, feedback and withdrawal blocks by date; record follows it",
        description="Baseline nights (no feedback), then feedback nights, then withdrawal "
        "nights (no feedback again): wearers get used to a buzz, so a trial with blocks "
        "shows whether the effect lasts. `bruxwatch record` without --mode records in "
        "the mode of the evening's block and stores the block with the night; the report "
        "shows each block's rate and the trend within the feedback block.",
    )
    p.add_argument("action", choices=("set", "show", "clear"), help="set, show or clear the plan")
    p.add_argument("--start", type=evening_date, help="set: the first evening (default: tonight)")
    p.add_argument(
        "--baseline", type=nights, default=14, help="set: baseline nights or weeks (default 14)"
    )
    p.add_argument(
        "--feedback", type=nights, default=28, help="set: feedback nights or weeks (default 28)"
    )
    p.add_argument(
        "--withdrawal",
        type=nights,
        default=14,
        help="set: withdrawal nights or weeks after feedback (default 14)",
    )
    p.add_argument("--plan", metavar="FILE", help="the plan file (default: in your config folder)")
    p.set_defaults(func=cmd_plan)
