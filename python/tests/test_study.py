"""lt.study: the tables, compare() against comparisons.csv and by another column, the figures
and the report, a DataFrame table, the command line's identical results, Dask, bad input."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import leukotrack as lt

CONTRACT = [
    "measure", "group", "reference", "n_mice", "n_mice_reference", "n_tracks", "n_tracks_reference",
    "median_difference", "ci_low", "ci_high", "p_permutation", "p_holm", "p_bh", "cliffs_delta",
    "hedges_g", "p_tracks_mannwhitney", "p_tracks_ks",
]


def write_tracks(path: Path, rng: np.random.Generator, speed: float, n: int = 15) -> None:
    rows = []
    for t in range(n):
        v = speed * np.exp(rng.normal(0, 0.3))
        p = rng.uniform(0, 300, 2)
        a = rng.uniform(0, 2 * np.pi)
        for k in range(12):
            rows.append((t, k, 30.0 * k, p[0], p[1], 10.0))
            a += rng.normal(0, 0.6)
            p = p + v * 0.5 * np.array([np.cos(a), np.sin(a)])
    pd.DataFrame(rows, columns=["track_id", "frame", "t_s", "x_um", "y_um", "z_um"]).to_csv(path, index=False)


@pytest.fixture(scope="module")
def study_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("study")
    rng = np.random.default_rng(3)
    lines = ["recording,mouse,group,session"]
    for g, f in (("WT", 1.0), ("KO", 0.5)):
        for m in range(3):
            speed = 8 * f * np.exp(rng.normal(0, 0.2))
            for r in range(2):
                name = f"{g}{m}_{r}.csv"
                write_tracks(d / name, rng, speed)
                lines.append(f"{name},{g}{m},{g},s{r}")
    (d / "study.csv").write_text("\n".join(lines) + "\n")
    return d / "study.csv"


@pytest.fixture(scope="module")
def result(study_table: Path, tmp_path_factory: pytest.TempPathFactory) -> lt.Study:
    return lt.study(study_table, out_dir=tmp_path_factory.mktemp("out"))


def test_tables_and_comparisons(result: lt.Study) -> None:
    assert len(result.tracks) == 12 * 15 and "behaviour_class" in result.tracks
    assert set(result.tracks["behaviour_class"]) <= {"arrested", "confined", "meandering", "directed"}
    assert len(result.per_mouse) == 6 and (result.per_mouse["n_recordings"] == 2).all()
    assert list(result.comparisons.columns[: len(CONTRACT)]) == CONTRACT
    speed = result.comparisons.set_index("measure").loc["speed_um_per_min"]
    assert speed.group == "KO" and speed.reference == "WT" and speed.n_mice == 3
    assert speed.median_difference < 0 and speed.ci_high < 0
    assert "Study" in repr(result) and result.warnings == []
    # compare() gives comparisons.csv's numbers (its p-values are adjusted over fewer rows).
    c = result.compare("speed_um_per_min").iloc[0]
    for col in ("median_difference", "ci_low", "ci_high", "p_permutation", "cliffs_delta", "p_tracks_ks"):
        assert c[col] == pytest.approx(speed[col], rel=1e-12), col
    every = result.compare()
    assert len(every) == len(result.comparisons)
    np.testing.assert_allclose(every["p_bh"], result.comparisons["p_bh"], rtol=1e-12)
    # By another column of the study table: the sessions do not differ.
    s = result.compare("speed_um_per_min", by="session", reference="s0").iloc[0]
    assert (s.group, s.reference, s.n_mice) == ("s1", "s0", 6)
    f = result.compare("fraction_directed").iloc[0]
    assert f.mouse_value == "fraction"


def test_figures_report_and_curves(result: lt.Study, tmp_path: Path) -> None:
    for name in ("speed_um_per_min", "msd_groups", "classes", "forest"):
        got = result.plot(name)
        assert got is not None
    html = result.report(tmp_path / "r.html").read_text()
    assert "<svg" in html and "https://" not in html
    assert set(result.curves["curve"]) == {"msd", "speed_ecdf", "arrest_fraction"}
    with pytest.raises(lt.InvalidInputError, match="no figure"):
        result.plot("nothing")


def test_embedding(result: lt.Study) -> None:
    emb = result.embedding()
    assert len(emb) > 100 and {"dim1", "dim2", "cluster", "group"} <= set(emb.columns)
    assert (emb["cluster"] == -1).all()
    # Principal components: uncorrelated, the first the wider.
    assert emb["dim1"].var() >= emb["dim2"].var()
    assert abs(np.corrcoef(emb["dim1"], emb["dim2"])[0, 1]) < 1e-9
    # On speed and straightness, the KO group (half as fast) sits apart.
    two = result.embedding(features=["speed_um_per_min", "straightness"])
    gap = max(abs(two.groupby("group")[d].median().diff().iloc[-1]) for d in ("dim1", "dim2"))
    assert gap > 0.8, gap
    pytest.importorskip("sklearn")
    k = result.embedding(n_clusters=2)
    assert set(k["cluster"]) == {0, 1}
    ax = lt.Study.plot_embedding(k, by="cluster")
    assert len(ax.collections) == 2
    with pytest.raises(lt.InvalidInputError, match="method"):
        result.embedding(method="tsne")
    with pytest.raises(lt.InvalidInputError, match="not measures"):
        result.embedding(features=["speed_um_per_min", "nope"])


def test_the_command_line_gives_the_same_tables(study_table: Path, result: lt.Study, cli: str, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    subprocess.run([cli, "study", str(study_table), "-o", str(out), "--quiet"], check=True)
    for f in ("comparisons.csv", "per_mouse.csv", "tracks_all.csv"):
        assert (out / f).read_bytes() == (result.out_dir / f).read_bytes(), f


def test_a_dataframe_table_and_bad_input(study_table: Path, tmp_path: Path) -> None:
    df = pd.read_csv(study_table)
    df["recording"] = [study_table.parent / p for p in df["recording"]]
    s = lt.study(df[df["group"] == "WT"].assign(group=lambda d: np.where(d.mouse == "WT0", "A", "B")), out_dir=tmp_path / "df")
    assert s.summary["groups"] == ["A", "B"]
    assert any("one mouse" in w for w in s.warnings)
    assert np.isnan(s.comparisons["p_permutation"]).all()
    with pytest.raises(lt.InvalidInputError, match="group"):
        lt.study(df.drop(columns="group"), out_dir=tmp_path / "x")
    with pytest.raises(lt.InvalidInputError, match="not a measure"):
        s.compare("speed")
    with pytest.raises(lt.InvalidInputError, match="not a group"):
        lt.study(study_table, out_dir=tmp_path / "y", reference="HET")


def test_on_a_dask_client(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    lines = ["recording,mouse,group"]
    for k, (g, speed) in enumerate((("fast", 12.0), ("fast", 12.0), ("slow", 4.0), ("slow", 4.0))):
        lt.synth(tmp_path / f"r{k}", frames=5, size={"x": 96, "y": 96, "z": 8}, seed=k,
                 config={"speed_um_per_min": [speed, speed * 1.2]}, progress=False)
        lines.append(f"r{k}/recording.tif,m{k},{g}")
    (tmp_path / "study.csv").write_text("\n".join(lines) + "\n")
    config = {"export": {"plots": False}}
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:
        s = lt.study(tmp_path / "study.csv", config=config, client=client, out_dir=tmp_path / "out")
    rec = s.per_recording.set_index("recording")
    assert list(rec.index) == ["r0/recording", "r1/recording", "r2/recording", "r3/recording"]
    # The cluster analysed the recordings; the pooling found them complete.
    assert list(rec["status"]) == ["skipped"] * 4, rec["status"]
    assert (tmp_path / "out" / "recordings" / "r0" / "recording" / "manifest.json").is_file()
    assert s.comparisons.set_index("measure").loc["speed_um_per_min", "median_difference"] < 0
