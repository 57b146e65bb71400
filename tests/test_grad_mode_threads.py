"""Grad mode is per thread, as in PyTorch."""

import threading

import chainrule as cr


def test_no_grad_in_another_thread_leaves_this_thread_recording():
    inside, release = threading.Event(), threading.Event()

    def worker():
        with cr.no_grad():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(5)
    w = cr.tensor([1.0], requires_grad=True)
    assert (w * 2).requires_grad and cr.is_grad_enabled()
    release.set()
    thread.join()
    assert cr.is_grad_enabled()


def test_a_new_thread_starts_with_grad_on_even_under_no_grad():
    seen = []
    with cr.no_grad():
        t = threading.Thread(target=lambda: seen.append(cr.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True] and cr.is_grad_enabled()
