"""Training in the background: a low priority (Linux) or a core left free, never a GPU's."""

import os
import sys
import threading

import pytest
import torch

from gen2res_desktop.core import devices
from gen2res_desktop.core.devices import BACKGROUND_NICENESS, in_background


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_cpu_training_runs_at_low_priority_with_its_compute_threads():
    seen = {}

    def job() -> None:
        tid = threading.get_native_id()
        before = os.getpriority(os.PRIO_PROCESS, tid)
        threads = torch.get_num_threads()
        with in_background(torch.device("cpu")):
            seen["threads"] = torch.get_num_threads() == threads  # every core
            torch.nn.functional.conv2d(torch.randn(2, 8, 64, 64), torch.randn(8, 8, 3, 3))
            seen["job"] = (before, os.getpriority(os.PRIO_PROCESS, tid))
            # torch's compute threads started by this job inherit the lower priority
            seen["workers"] = {
                int(open(f"/proc/self/task/{t}/stat").read().rsplit(")", 1)[1].split()[16])
                for t in os.listdir("/proc/self/task")
            }

    thread = threading.Thread(target=job)
    thread.start()
    thread.join()
    before, during = seen["job"]
    assert seen["threads"] and during == min(19, before + BACKGROUND_NICENESS)
    assert max(seen["workers"]) >= BACKGROUND_NICENESS


def test_cpu_training_leaves_a_core_where_its_priority_cannot_be_lowered(monkeypatch):
    monkeypatch.setattr(devices, "lower_thread_priority", lambda: False)
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    before = torch.get_num_threads()
    torch.set_num_threads(4)
    try:
        with devices.in_background(torch.device("cpu")):
            assert torch.get_num_threads() == 3
        assert torch.get_num_threads() == 4
        with devices.in_background(torch.device("meta")):
            assert torch.get_num_threads() == 4
    finally:
        torch.set_num_threads(before)
