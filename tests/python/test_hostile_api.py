"""Issue #18 on the Python side: thread counts bounded (any integer; a bad one is
ai8xsim.Error), an empty batch refused as the command line refuses it, no_bias checked
against the YAML's layers."""
import numpy as np
import pytest

import pysupport as S

ai8xsim = S.import_ai8xsim()

ONE_D = S.first_case_where(S.is_1d) or S.NO_CORPUS


def _net():
    S.require_corpus()
    return S.load_case(ai8xsim, ONE_D)


@pytest.mark.parametrize("threads", [2**31, 10**6, 2**70, np.int64(3)])
def test_large_thread_counts_are_bounded(threads):
    net, x, _, _ = _net()
    X = np.stack([x, x, x])
    assert np.array_equal(net.run_batch(X, threads=threads), net.run_batch(X, threads=1))


@pytest.mark.parametrize("threads", [-1, -2**40, 2.5, "4", None])
def test_bad_thread_counts_are_an_error(threads):
    net, x, _, _ = _net()
    with pytest.raises(ai8xsim.Error, match="threads: found"):
        net.run_batch(np.stack([x]), threads=threads)


def test_empty_batch_is_refused():
    net, x, _, _ = _net()
    with pytest.raises(ai8xsim.Error, match="no samples"):
        net.run_batch(np.zeros((0,) + x.shape, np.int8))


@pytest.mark.parametrize("layer", [99, -1])
def test_no_bias_names_a_layer_of_the_yaml(layer):
    S.require_corpus()
    m = S.meta(ONE_D)
    d = S.case_dir(ONE_D)
    key = "checkpoint" if m.get("checkpoint") else "weights"
    with pytest.raises(ai8xsim.Error, match=f"no_bias.*found layer {layer}"):
        ai8xsim.load(d / m["config"], (d / m[key]).resolve(), device=m["device"],
                     no_bias=[layer])
