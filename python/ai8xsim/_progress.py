"""Progress bars for run_batch (tqdm.auto: a widget in notebooks, text in terminals)."""
import contextlib
import warnings

# Batches larger than this show a bar unless progress=False.
AUTO_THRESHOLD = 256
# Updates per batch (the binding calls back at most this often).
UPDATES = 200


def wants_bar(progress, n):
    if progress is None:
        return n > AUTO_THRESHOLD
    return bool(progress)


@contextlib.contextmanager
def bar(n, desc="ai8xsim"):
    """Yields a callback `done -> None` that moves a tqdm bar to `done` of `n`."""
    with warnings.catch_warnings():  # without ipywidgets tqdm.auto falls back to text
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm

    with tqdm(total=n, desc=desc, unit="sample") as t:
        def update(done):
            t.update(done - t.n)

        yield update


def every(n):
    return max(1, n // UPDATES)
