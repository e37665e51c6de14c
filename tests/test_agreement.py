import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from consultations.agreement import (
    binary_alpha,
    bootstrap_binary,
    cohen_kappa,
    krippendorff_alpha,
    percent_agreement,
    reliability_matrix,
    reliability_table,
)


def _k2011(shared_datasets):
    df = pd.read_csv(shared_datasets / "krippendorff-2011-example" / "reliability_matrix_4x12.csv")
    return df.drop(columns="observer").to_numpy(dtype=float)


@pytest.mark.shared_data
@pytest.mark.parametrize("level, expected", [
    ("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)])
def test_agreement_krippendorff_2011_published_values(shared_datasets, level, expected):
    assert round(krippendorff_alpha(_k2011(shared_datasets), level), 3) == expected


@pytest.mark.shared_data
def test_agreement_krippendorff_long_table_matches_wide(shared_datasets):
    long = pd.read_csv(shared_datasets / "krippendorff-2011-example" / "reliability_long_4x12.csv")
    m, coders, units = reliability_matrix(long, "unit", "observer", "value")
    assert coders == ["A", "B", "C", "D"]
    assert round(krippendorff_alpha(m, "nominal"), 3) == 0.743


@pytest.mark.shared_data
def test_agreement_tidycomm_fbposts_reference(shared_datasets):
    posts = pd.read_csv(shared_datasets / "icr-tidycomm-fbposts" / "fbposts.csv")
    variables = ["type", "n_pictures", "pop_elite", "pop_people", "pop_othering"]
    res = reliability_table(posts, "post_id", "coder_id", variables).set_index("variable")
    expected = {  # tidycomm vignette "Intercoder reliability tests" (see SOURCE.md)
        "type": (1.0, 1.0, 1.0), "n_pictures": (0.822, 0.930, 0.880),
        "pop_elite": (0.733, 0.861, 0.339), "pop_people": (0.778, 0.916, 0.287),
        "pop_othering": (0.867, 0.945, 0.566)}
    for var, (agree, holsti, alpha) in expected.items():
        assert round(res.loc[var, "agreement"], 3) == agree, var
        assert round(res.loc[var, "holsti"], 3) == holsti, var
        assert round(res.loc[var, "alpha"], 3) == alpha, var
    assert (res["n_units"] == 45).all() and (res["n_coders"] == 6).all()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_agreement_kappa_equals_sklearn_on_random_data(seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 3, 200)
    b = np.where(rng.random(200) < 0.6, a, rng.integers(0, 3, 200))
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))


def test_agreement_kappa_ignores_missing_units():
    a = np.array([1, 0, 1, np.nan, 0, 1])
    b = np.array([1, 0, 0, 1, 0, np.nan])
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score([1, 0, 1, 0], [1, 0, 0, 0]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agreement_binary_alpha_matches_krippendorff_package(seed):
    rng = np.random.default_rng(seed)
    m = (rng.random((3, 80)) < 0.3).astype(float)
    m[rng.random((3, 80)) < 0.1] = np.nan
    assert binary_alpha(m) == pytest.approx(krippendorff_alpha(m, "nominal"))


def test_agreement_percent_agreement_and_undefined_alpha():
    m = np.array([[1, 0, 0, 1], [1, 0, 1, 1]], dtype=float)
    assert percent_agreement(m) == 0.75
    assert np.isnan(krippendorff_alpha(np.zeros((2, 5)), "nominal"))


def test_agreement_bootstrap_is_seeded_and_brackets_estimate():
    rng = np.random.default_rng(5)
    a = (rng.random(150) < 0.3).astype(float)
    b = np.where(rng.random(150) < 0.85, a, 1 - a)
    m = np.vstack([a, b])
    ci1 = bootstrap_binary(m, n_boot=500, seed=7)
    ci2 = bootstrap_binary(m, n_boot=500, seed=7)
    assert ci1 == ci2
    assert ci1["alpha"][0] < binary_alpha(m) < ci1["alpha"][1]
    k = cohen_kappa(a, b)
    assert ci1["kappa"][0] < k < ci1["kappa"][1]
    assert ci1["percent_agreement"][0] <= percent_agreement(m) <= ci1["percent_agreement"][1]
