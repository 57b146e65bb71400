"""Column names on the command line (--features, --drop, --categorical, --numeric and a
config file's lists): a name holding a comma is written in double quotes, as in a CSV."""

import numpy as np
from cli_helpers import run_cli

from chainrule.cli.common import column_list
from chainrule.data.messages import joined_names, option


def test_a_quoted_name_keeps_its_comma():
    # before: '"weight, kg",height' was split into 'weight', 'kg"' and 'height'
    assert column_list('"weight, kg",height') == ["weight, kg", "height"]
    assert column_list("a,b , c,") == ["a", "b", "c"]
    assert column_list('say ""hi"",b') == ['say ""hi""', "b"]  # quotes inside a bare name
    names = ["weight, kg", 'the "best"', "plain"]
    assert column_list(joined_names(names)) == names


def test_hints_quote_a_name_holding_a_comma_so_the_flag_reads_it_back():
    # the left-out note said '--features weight, kg,height': a list the flag split in three
    python, cli = option("features", ["weight, kg", "height"])
    assert python == "features=['weight, kg', 'height']"
    assert cli == "--features '\"weight, kg\",height'"
    assert option("features", ["it's", "b"])[1] == "--features 'it'\"'\"'s,b'"  # shell-safe


def _data(tmp_path):
    rng = np.random.default_rng(0)
    rows = [f"{rng.normal():.2f},{rng.normal():.2f},{i},{'ab'[i % 2]}" for i in range(40)]
    path = tmp_path / "d.csv"
    path.write_text('"weight, kg",height,customer_id,y\n' + "\n".join(rows) + "\n")
    return path


def test_train_reads_a_quoted_name_from_flags_and_config(tmp_path):
    data = _data(tmp_path)
    common = ("--target", "y", "--epochs", "1", "--no-plots", "--dry-run")
    result = run_cli("train", data, *common)
    assert result.returncode == 0, result.stderr
    assert "--features '\"weight, kg\",height,customer_id'" in result.stdout
    picked = run_cli("train", data, *common, "--features", '"weight, kg",customer_id')
    assert picked.returncode == 0, picked.stderr
    assert "no column named" not in picked.stderr
    dropped = run_cli("train", data, *common, "--drop", '"weight, kg"')
    assert dropped.returncode == 0, dropped.stderr
    config = tmp_path / "run.toml"
    config.write_text('features = ["weight, kg", "height"]\n')
    configured = run_cli("train", data, *common, "--config", config)
    assert configured.returncode == 0, configured.stderr
