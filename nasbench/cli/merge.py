"""``nasbench-merge OUTPUT SHARD...``: join the shard files of one build into one table."""

from __future__ import annotations

import argparse

from nasbench.cli.common import one_line_errors


@one_line_errors
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="nasbench-merge", description=__doc__.replace("``", ""))
    parser.add_argument("output", help="path of the merged table (.h5)")
    parser.add_argument("shards", nargs="+", help="shard files written by nasbench-build shard=i num_shards=n")
    parser.add_argument("--allow-partial", action="store_true",
                        help="merge even when shards of the build are missing (the merged table lacks their entries)")
    args = parser.parse_args(argv)
    from nasbench.train.build import merge_shards

    path = merge_shards(args.shards, args.output, allow_partial=args.allow_partial)
    print(f"merged {len(args.shards)} shards into {path}")


if __name__ == "__main__":
    main()
