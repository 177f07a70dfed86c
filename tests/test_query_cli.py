"""``nasbench-query``: any encoding as text, every encoding out, table metrics, one-line errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import build_tiny, tiny_space
from nasbench.cli.query import main, parse_arch_text
from nasbench.space import CellSpace, SpaceError
from nasbench.table import Benchmark

EXE = shutil.which("nasbench-query", path=str(Path(sys.executable).parent)) or "nasbench-query"


def cli_json(cli, *args: str) -> dict:
    proc = cli("nasbench-query", *args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def assert_one_line_error(proc: subprocess.CompletedProcess, text: str = "") -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert text in lines[0]
    return lines[0]


@pytest.mark.slow
def test_text_output(tiny_table, cli):
    space = tiny_space()
    arch = space[14]
    r = Benchmark.load(tiny_table).query(14)
    proc = cli("nasbench-query", arch.arch_str, "--table", str(tiny_table))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for label in ("arch_str", "index", "ops", "decisions", "matrix", "graph edges", "one_hot",
                  "path_encoding", "class id", "connected", "params", "flops", "valid_accuracy", "train_time"):
        assert label in out, label
    assert arch.arch_str in out and ",".join(arch.ops) in out
    assert f"{space.costs(arch.decisions)['params']:,}" in out
    assert f"{r.valid_accuracy:.4f}" in out and "mean over 2 seed(s)" in out
    assert "(complete:" in out


@pytest.mark.slow
def test_json_output_matches_the_benchmark(tiny_table, cli):
    bench = Benchmark.load(tiny_table)
    arch = bench.space[20]
    data = cli_json(cli, "20", "--table", str(tiny_table), "--epoch", "1", "--seed", "1")
    assert data["arch_str"] == arch.arch_str and data["index"] == 20
    assert data["ops"] == arch.ops and data["decisions"] == list(arch.decisions)
    assert data["matrix"] == arch.matrix.tolist()
    assert data["one_hot"] == arch.one_hot.astype(int).tolist()
    assert data["path_encoding"] == arch.path_encoding.astype(int).tolist()
    assert data["graph_edges"] == [[i, j, d["op"]] for i, j, d in arch.graph.edges(data=True)]
    assert data["class_id"] == arch.class_id and data["connected"] == bool(bench.space.is_connected()[20])
    assert data["representative"] == int(bench.representatives[arch.class_id])
    assert data["params"] == bench.space.costs(arch.decisions)["params"]
    assert data["space"] == bench.space.config()
    table = data["table"]
    assert table["path"] == str(tiny_table) and table["complete"] and table["seeds"] == [0, 1]
    assert table["result"] == bench.query(20, epoch=1, seed=1).to_dict()
    assert table["missing"] is None
    assert table["costs"].startswith("measured in one sitting (") and f"over {bench.entries_done} entries" in table["costs"]


def test_costs_provenance_says_when_costs_may_mix_runs():
    from nasbench.cli.query import costs_provenance

    assert costs_provenance({"build_history": [{}, {}, {}]}).startswith("measured along a build of 3 (re)starts, not yet in one sitting")
    assert costs_provenance({"build_history": [{}]}) == "measured during the build, in one run"


@pytest.mark.parametrize(
    "make",
    [
        lambda a: a.arch_str,
        lambda a: str(a.index),
        lambda a: ",".join(a.ops),
        lambda a: " ".join(a.ops),
        lambda a: ", ".join(map(str, a.decisions)),
        lambda a: " ".join(map(str, a.decisions)),
        lambda a: json.dumps(a.ops),
        lambda a: json.dumps(list(a.decisions)),
        lambda a: json.dumps(a.one_hot.tolist()),
        lambda a: ",".join(str(int(v)) for v in a.one_hot),
        lambda a: json.dumps(a.matrix.tolist()),
    ],
)
def test_every_text_encoding_parses(make):
    space = tiny_space()
    for arch in space:
        assert parse_arch_text(space, make(arch)) == arch


def test_path_encoding_text_parses():
    space = CellSpace()
    arch = space[11153]
    text = json.dumps(arch.path_encoding.astype(int).tolist())
    assert parse_arch_text(space, text).path_encoding.tolist() == arch.path_encoding.tolist()


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty ARCH"),
        ("[1, 2", "does not parse"),
        ('{"index": 3}', "must be a list"),
        ("none,1,2", "mixes numbers and names"),
        ("none,skip_connect", ""),
        ("99", "valid: 0..26"),
        ("1e1", "an index is a whole number in 0..26 written in decimal digits, got '1e1'"),
        ("3.5", "whole number"),
        ("0x10", "whole number"),
        ("[true,false,1]", "mixes true/false with numbers"),
        ("[[-1,5,-1],[-1,-1,1],[-1,-1,-1]]", "matrix entry [0, 1] = 5 is not an op index; valid above the diagonal: 0..2"),
    ],
)
def test_bad_text(text, message):
    with pytest.raises(SpaceError) as err:
        parse_arch_text(tiny_space(), text)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.slow
def test_encodings_agree_through_the_cli(tiny_table, cli):
    arch = tiny_space()[11]
    texts = [arch.arch_str, "11", ",".join(arch.ops), json.dumps(arch.matrix.tolist())]
    results = [cli_json(cli, t, "--table", str(tiny_table)) for t in texts]
    assert all(r == results[0] for r in results)


@pytest.mark.slow
def test_errors_are_one_line(tiny_table, tmp_path, cli):
    table = str(tiny_table)
    assert_one_line_error(cli("nasbench-query", "|bogus~0|+|none~0|none~1|", "--table", table), "valid")
    assert_one_line_error(cli("nasbench-query", "27", "--table", table), "valid: 0..26")
    assert_one_line_error(cli("nasbench-query", "3", "--table", table, "--epoch", "5"), "valid: 1..2")
    assert_one_line_error(cli("nasbench-query", "3", "--table", table, "--seed", "9"), "valid: 0, 1")
    assert_one_line_error(cli("nasbench-query", "3", "--table", str(tmp_path / "none.h5")), "does not exist")
    broken = tmp_path / "broken.h5"
    broken.write_bytes(Path(table).read_bytes()[:3000])
    assert_one_line_error(cli("nasbench-query", "3", "--table", str(broken)), "truncated or corrupt")


@pytest.mark.slow
def test_an_architecture_of_another_shipped_space_gets_a_hint(tiny_table, cli):
    from nasbench.table import default_table_path

    shipped = {p.name: Benchmark.load(p).space for p in default_table_path().parent.glob("*.h5")}
    blocks = [name for name, space in shipped.items() if space.kind == "blocks"]
    if not blocks:
        pytest.skip("no shipped block table")
    arch = shipped[blocks[0]][5].arch_str
    assert_one_line_error(cli("nasbench-query", arch, "--table", str(tiny_table)), f"pass --table {blocks[0]}")


@pytest.mark.slow
def test_partial_table_prints_what_is_missing(tmp_path, cli):
    path = build_tiny(tmp_path / "partial.h5", seeds=(0,), epochs=1, max_entries=2)
    bench = Benchmark.load(path)
    untrained = int(bench.representatives[list(bench.done[:, 0]).index(False)])
    proc = cli("nasbench-query", str(untrained), "--table", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "arch_str" in proc.stdout and "not trained" in proc.stdout and "partial: 2 of" in proc.stdout
    data = cli_json(cli, str(untrained), "--table", str(path))
    assert data["table"]["result"] is None and "not trained" in data["table"]["missing"]
    trained = int(bench.representatives[list(bench.done[:, 0]).index(True)])
    assert cli_json(cli, str(trained), "--table", str(path))["table"]["result"]["num_seeds"] == 1


def test_without_a_table(monkeypatch, tmp_path, capsys):
    import nasbench.table

    monkeypatch.setattr(nasbench.table, "default_table_path", lambda: tmp_path / "nb201-mnist1d.h5")
    main(["|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_1x1~2|"])
    out = capsys.readouterr().out
    assert "no table" in out and "path_encoding" in out and "class id" in out
    main(["5", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["table"] is None and "no table" in data["note"]
    assert data["space"] == CellSpace().config() and data["index"] == 5
    with pytest.raises(SystemExit) as exit_:
        main(["5", "--epoch", "2"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.startswith("error: --epoch and --seed need a table")


@pytest.mark.slow
def test_cli_does_not_import_torch(tiny_table):
    code = f"""
import sys
from nasbench.cli.query import main
main(["|skip_connect~0|+|none~0|nor_conv_3x3~1|", "--table", {str(tiny_table)!r}])
main(["3", "--table", {str(tiny_table)!r}, "--json"])
assert "torch" not in sys.modules, "torch was imported"
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
