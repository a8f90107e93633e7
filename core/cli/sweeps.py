"""`python -m core sweep ...`: the Sweeps page's actions from a terminal."""
from __future__ import annotations

import argparse
import json
from dataclasses import replace

from core.domain.people import OPERATOR
from core.domain.sweep_spec import Halving, SweepError, SweepSpec, assignment_preset, parse_spec
from core.services import sweep_retrains, sweeps
from core.store.sweeps import RETRAIN
from core.views.display import duration, percent


def _spec(args: argparse.Namespace) -> SweepSpec:
    if args.spec:
        try:
            spec = parse_spec(json.load(args.spec))
        except (json.JSONDecodeError, TypeError) as exc:
            raise SweepError(f"spec: {args.spec.name} is not a sweep spec ({exc})") from None
    elif args.preset == "assignment":
        spec = assignment_preset()
    else:
        raise SweepError("spec: give --spec FILE or --preset assignment")
    if args.datasets:
        spec = replace(spec, datasets=tuple(args.datasets))
    if args.epochs:
        spec = replace(spec, epochs=(args.epochs,))
    if args.train_subset:
        spec = replace(spec, shared={**spec.shared, "train_subset": args.train_subset})
    for field in ("cpus", "gpus"):
        if getattr(args, field) is not None:
            spec = replace(spec, shared={**spec.shared, field: getattr(args, field)})
    if args.halving:
        spec = replace(spec, halving=Halving(min_epochs=args.halving))
    if args.retrain_best is not None:
        spec = replace(spec, retrain_epochs=args.retrain_best)
    return spec


def _need_id(args: argparse.Namespace) -> int:
    if args.sweep_id is None:
        raise SweepError(f"sweep_id: `sweep {args.action}` needs the sweep's number (see `sweep list`)")
    return args.sweep_id


def sweep_command(args: argparse.Namespace) -> int:
    """Run one `sweep` action; returns the exit code."""
    if args.action == "start":
        spec = _spec(args)
        plan = sweeps.plan(spec, actor=OPERATOR)
        print(f"{len(plan.trials)} runs, about {duration(plan.wall_seconds)} with {plan.workers} workers"
              f"{'' if plan.estimate.measured else ' (rough guess)'}")
        if spec.retrain_epochs:
            print(f"then the best setting on each dataset retrained for {spec.retrain_epochs} epochs on all its "
                  "training data (no validation split) and tested once")
        if args.dry_run:
            for trial in plan.trials:
                print("  " + trial.config.display_name())
            return 0
        sweep_id = sweeps.start(spec, actor=OPERATOR)
        print(f"sweep #{sweep_id} queued" + (f"; the best setting on each dataset is retrained for "
                                              f"{spec.retrain_epochs} epochs as soon as its trials have ended"
                                              if spec.retrain_epochs else ""))
        return 0
    if args.action == "list":
        for row in sweeps.sweeps():
            progress = sweeps.progress(sweeps.runs_frame(row.id))
            print(f"#{row.id:<4} {row.name:<24} {progress.text()}")
        return 0
    sweep_id = _need_id(args)
    if args.action == "show":
        runs = sweeps.runs_frame(sweep_id)
        print(sweeps.progress(runs).text())
        table = sweeps.trials_table(runs).sort_values("val_accuracy", ascending=False)
        print("* the best trial on its dataset, by validation accuracy")
        for row in table.itertuples():
            print(f"{'*' if row.best else ' '} #{row.run:<5} {row.status:<10} val {percent(row.val_accuracy):>7}  "
                  f"test {percent(row.test_accuracy):>7}  {row.dataset} · {row.architecture} · {row.optimizer} "
                  f"lr={row.learning_rate:g} · bs {row.batch_size}")
        for dataset, note in sweep_retrains.retrain_notes(sweep_id).items():
            print(f"retrain of the best on {dataset}: {note}")
        for row in runs[runs["role"] == RETRAIN].itertuples():
            print(f"  #{row.run:<5} {row.status:<10} test {percent(row.test_accuracy):>7}  retrain on {row.dataset}: "
                  f"{row.architecture} · {row.optimizer} lr={row.learning_rate:g} · {row.epochs} epochs on all its "
                  "training data")
        return 0
    if args.action == "cancel":
        print(f"sweep #{sweep_id}: {sweeps.cancel(sweep_id, actor=OPERATOR)} runs cancelled or stopping")
        return 0
    if not args.dataset or not args.epochs:
        raise SweepError("retrain: give --dataset (e.g. fashion_mnist) and --epochs")
    run_id = sweeps.retrain_best(sweep_id, args.dataset, args.epochs, actor=OPERATOR)
    print(f"run #{run_id} queued: the best setting on {args.dataset}, retrained")
    return 0
