"""`python -m trainlab track my_script.py [args]` and `python -m trainlab sync`, on a laptop that has only the
client (installed from the class's server): the same as `python -m core track` and `python -m core sync`."""
import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit code."""
    parser = argparse.ArgumentParser(prog="python -m trainlab", description="Report your own Keras training.")
    sub = parser.add_subparsers(dest="command", required=True)
    track = sub.add_parser("track", help="run your script with every model.fit in it tracked")
    track.add_argument("--dataset", default="")
    track.add_argument("--name", default="")
    track.add_argument("--save-model", action="store_true")
    track.add_argument("script")
    track.add_argument("args", nargs=argparse.REMAINDER)
    sub.add_parser("sync", help="send what a tracked script could not send before it ended")
    args = parser.parse_args(argv)
    if args.command == "sync":
        from trainlab.sync import send_spooled

        for line in send_spooled() or ["nothing to send"]:
            print(line)
        return 0
    from trainlab.runner import ScriptNotFound, run_script

    try:
        return run_script(args.script, args.args, dataset=args.dataset, name=args.name, save_model=args.save_model)
    except ScriptNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
