"""``python -m duet_core eval run|vote|rate|leaderboard``: judges, people's votes and the
leaderboard from a terminal (docs/design.md, "Evaluation").

    eval run (RUN_ID | --batch ID) --judge FILE [--json] [--db URL]
    eval vote RUN_A RUN_B --winner a|b|tie [--bot 0|1] [--db URL]
    eval rate RUN_ID --turn INDEX --score 1-10 [--note TEXT] [--db URL]
    eval leaderboard [--by model|persona] [--batch ID] [--topic TEXT] [--json] [--db URL]
    eval agreement [--batch ID] [--json] [--db URL]   # judges vs people, Spearman per judge

``eval run --json`` prints one line per evaluation, as it is made: ``{"run_id", "turn", "score",
"reason", "judge", "criterion", "evaluation_id"}`` or ``{"run_id", "turn", "error"}``; it exits 0
when every evaluation was stored, 1 when some failed (their errors are printed; nothing of
theirs is stored), 2 for bad input (one line). ``eval leaderboard --json`` prints ``[{"name",
"rating", "ci_low", "ci_high", "wins", "losses", "ties"}]``, best first.
"""

from __future__ import annotations

import argparse
import getpass
import json
from typing import Any, TextIO

from duet_core.errors import ConfigError, NotFound
from duet_core.evals.agreement import agreements
from duet_core.evals.judge import load_judge, resolve
from duet_core.evals.judging import Outcome, judge_experiment, judge_runs
from duet_core.evals.leaderboard import BY, ROUNDS, leaderboard
from duet_core.evals.votes import cast_vote, rate_turn
from duet_core.redact import redact
from duet_core.services import build_services
from duet_core.settings import Settings
from duet_core.store import Store
from duet_core.store.experiments import ExperimentQueue


def _score(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 10:
        raise argparse.ArgumentTypeError(f"a score is from 1 to 10, not {value}")
    return value


def _index(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a turn index: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"turn indexes start at 0, not {value}")
    return value


def _rounds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"rounds go from 0 to 100000, not {value}")
    return value


def add_parser(sub: Any) -> None:
    """Add ``eval`` and its commands to the top-level subparsers ``sub``."""
    evals = sub.add_parser("eval", help="judges, people's votes and the leaderboard")
    commands = evals.add_subparsers(dest="eval_command", required=True)
    run = commands.add_parser("run", help="judge a saved run, or every run of an experiment")
    which = run.add_mutually_exclusive_group(required=True)
    which.add_argument("run_id", nargs="?", help="a saved run's id")
    which.add_argument("--batch", metavar="ID", help="an experiment's id: judge all its runs")
    run.add_argument("--judge", required=True, metavar="FILE", help="the judge file (.json, .yaml)")
    vote = commands.add_parser("vote", help="vote which of two runs' bot did better")
    vote.add_argument("run_a")
    vote.add_argument("run_b")
    vote.add_argument("--winner", required=True, choices=("a", "b", "tie"))
    vote.add_argument(
        "--bot",
        type=int,
        choices=(0, 1),
        help="the bot the vote is about (default: the one whose settings differ)",
    )
    rate = commands.add_parser("rate", help="your score (1-10) for one turn of a run")
    rate.add_argument("run_id")
    rate.add_argument("--turn", required=True, type=_index, help="the turn's index (from 0)")
    rate.add_argument("--score", required=True, type=_score)
    rate.add_argument("--note", default="")
    board = commands.add_parser("leaderboard", help="models or personas ranked from votes")
    board.add_argument("--by", choices=BY, default="model")
    board.add_argument("--batch", metavar="ID", help="only votes between runs of this experiment")
    board.add_argument("--topic", help="only votes between runs on this topic")
    board.add_argument(
        "--rounds", type=_rounds, default=ROUNDS, help="bootstrap rounds for the intervals"
    )
    agree = commands.add_parser(
        "agreement", help="how far each judge agrees with people on the turns both scored"
    )
    agree.add_argument("--batch", metavar="ID", help="only turns of this experiment's runs")
    for p in (run, board, agree):
        p.add_argument("--json", action="store_true", help="print JSON")
    for p in (run, vote, rate, board, agree):
        p.add_argument("--db", help="database URL (default DUET_DATABASE_URL)")


def _who() -> str:
    try:
        return getpass.getuser() or "cli"
    except (KeyError, OSError):
        return "cli"


def cmd_eval(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    command = {
        "run": _run,
        "vote": _vote,
        "rate": _rate,
        "leaderboard": _leaderboard,
        "agreement": _agreement,
    }[args.eval_command]
    return command(args, settings, out)


def _outcome_text(outcome: Outcome) -> list[str]:
    where = outcome.run_id + ("" if outcome.turn is None else f" turn {outcome.turn}")
    if outcome.error is not None:
        return [f"{where}  error: {outcome.error}"]
    lines = []
    for e in outcome.evaluations:
        name = f"{e.judge}.{e.criterion}" if e.criterion else e.judge
        reason = " ".join(e.reason.split())
        lines.append(f"{where}  {name}  {e.score}/10  {reason}")
    return lines


def _run(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    spec = load_judge(args.judge)  # every check before the first request
    svc = build_services(settings, database_url=args.db, must_exist=True)
    try:
        judge = resolve(spec, svc.store.prompts)
        provider_for = svc.providers.with_keys(None)
        common = {"prices": svc.prices, "who": _who()}
        if args.batch:
            if ExperimentQueue(svc.store).get(args.batch) is None:
                raise ConfigError(f"No experiment {args.batch}: list them to find its id.")
            outcomes = judge_experiment(svc.store, args.batch, judge, provider_for, **common)
        else:
            if svc.store.get_run(args.run_id) is None:
                raise ConfigError(f"No saved run with id '{args.run_id}': list them with 'runs'.")
            outcomes = judge_runs(svc.store, [args.run_id], judge, provider_for, **common)
        stored = failed = 0
        scores: list[int] = []
        for outcome in outcomes:
            if outcome.ok:
                stored += 1
                scores += [e.score for e in outcome.evaluations]
            else:
                failed += 1
            if args.json:
                for line in outcome.lines():
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")
            else:
                for line in _outcome_text(outcome):
                    out.write(redact(line) + "\n")
            out.flush()
        if not args.json:
            mean = (
                f" ({len(scores)} scores, mean {sum(scores) / len(scores):.2f})" if scores else ""
            )
            out.write(f"{judge.name}: {stored} judged{mean}; {failed} failed\n")
        if stored == 0 and failed == 0:
            raise ConfigError("Nothing to judge: the experiment has no runs.")
        return 1 if failed else 0
    finally:
        svc.manager.close()
        svc.store.close()


def _vote(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    with Store(args.db or settings.database_url, must_exist=True) as store:
        try:
            vote = cast_vote(store, args.run_a, args.run_b, args.winner, _who(), args.bot)
        except NotFound as e:
            raise ConfigError(str(e)) from None
    if vote.winner == "tie":
        result = f"{vote.model_a} (a) and {vote.model_b} (b) tied"
    else:
        won, lost = ("a", "b") if vote.winner == "a" else ("b", "a")
        models = {"a": vote.model_a, "b": vote.model_b}
        result = f"{models[won]} ({won}) beat {models[lost]} ({lost})"
    out.write(f"Vote {vote.id} saved: bot {vote.bot_index}, {result}\n")
    return 0


def _rate(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    with Store(args.db or settings.database_url, must_exist=True) as store:
        try:
            rating = rate_turn(store, args.run_id, args.turn, args.score, _who(), args.note)
        except NotFound as e:
            raise ConfigError(str(e)) from None
    out.write(f"Turn {rating.turn} of {rating.run_id}: {rating.score}/10 saved\n")
    return 0


def _leaderboard(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    with Store(args.db or settings.database_url, must_exist=True) as store:
        if args.batch and ExperimentQueue(store).get(args.batch) is None:
            raise ConfigError(f"No experiment {args.batch}: list them to find its id.")
        votes = store.evaluations.votes(experiment_id=args.batch, topic=args.topic)
    board = leaderboard(votes, by=args.by, rounds=args.rounds)
    if args.json:
        out.write(json.dumps([s.as_json() for s in board], ensure_ascii=False) + "\n")
        return 0
    if not board:
        out.write(
            "No votes between different "
            + ("models" if args.by == "model" else "personas")
            + " yet.\n"
        )
        return 0
    width = max(len("name"), *(len(s.name) for s in board))
    head = f"{'#':>3}  {'name':{width}}  {'rating':>6}  {'95% interval':>13}"
    out.write(f"{head}  {'W':>4} {'L':>4} {'T':>4}\n")
    for rank, s in enumerate(board, start=1):
        interval = f"{s.ci_low:.0f}-{s.ci_high:.0f}"
        out.write(
            f"{rank:>3}  {redact(s.name):{width}}  {s.rating:>6.0f}  {interval:>13}  "
            f"{s.wins:>4} {s.losses:>4} {s.ties:>4}\n"
        )
    out.write(
        f"{len(votes)} votes; Bradley-Terry, 95% bootstrap intervals ({args.rounds} rounds)\n"
    )
    return 0


def _agreement(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    with Store(args.db or settings.database_url, must_exist=True) as store:
        if args.batch and ExperimentQueue(store).get(args.batch) is None:
            raise ConfigError(f"No experiment {args.batch}: list them to find its id.")
        found = agreements(store.evaluations.paired_scores(experiment_id=args.batch))
    if args.json:
        out.write(json.dumps([a.as_json() for a in found], ensure_ascii=False) + "\n")
        return 0
    if not found:
        out.write("No turn was scored by both a judge (per turn) and a person yet.\n")
    for a in found:
        rho = "n/a (too few or constant scores)" if a.spearman is None else f"{a.spearman:+.2f}"
        out.write(f"{redact(a.judge)}: Spearman {rho} over {a.items} turns\n")
    return 0
