# Tests for shared-memory tensors: share_memory_/is_shared and pickling by handle across processes.
import multiprocessing as python_mp
import os

import pytest

import ctorch
import ctorch.multiprocessing as mp
from conftest import ctorch_shm_entries


@pytest.fixture(autouse=True, scope="module")
def _no_leaked_segments():
    before = set(ctorch_shm_entries())
    yield
    assert set(ctorch_shm_entries()) - before == set()


def test_share_memory_in_place_keeps_values_and_views():
    t = ctorch.arange(12, dtype=ctorch.float32).reshape(3, 4)
    v = t[1:, ::2]
    assert not t.is_shared() and not v.is_shared()
    r = t.share_memory_()
    assert r is t or r.data_ptr() == t.data_ptr()
    assert t.is_shared() and v.is_shared()  # the storage moved, so views follow
    assert t.tolist() == [[float(i + 4 * j) for i in range(4)] for j in range(3)]
    v[0, 0] = -1.0
    assert t[1, 0].item() == -1.0
    ptr = t.data_ptr()
    t.share_memory_()  # already shared: no new segment
    assert t.data_ptr() == ptr


@pytest.mark.parametrize("dtype", [ctorch.float32, ctorch.int64, ctorch.bool, ctorch.float16, ctorch.uint8])
def test_share_memory_dtypes_and_empty(dtype):
    t = ctorch.ones(5, dtype=dtype)
    t.share_memory_()
    assert t.is_shared() and t.tolist() == ctorch.ones(5, dtype=dtype).tolist()
    e = ctorch.empty(0, 3, dtype=dtype).share_memory_()
    assert e.is_shared() and tuple(e.shape) == (0, 3)
    s = ctorch.tensor(3, dtype=dtype).share_memory_()
    assert s.is_shared() and s.dim() == 0


def test_handle_requires_shared_storage():
    with pytest.raises(RuntimeError, match="not in shared memory"):
        ctorch.zeros(2)._shm_handle()


def test_no_dev_shm_entry_even_while_alive():
    t = ctorch.zeros(1000).share_memory_()
    assert t.is_shared()
    # segments are unlinked as soon as they are created: only descriptors keep them alive
    assert ctorch_shm_entries() == [] or all(not f.startswith("ctorch_%d_" % os.getpid())
                                             for f in ctorch_shm_entries())


def _child_double_and_write(q_in, q_out, done):
    t = q_in.get()
    q_out.put((t.is_shared(), t.tolist(), t * 2))
    t.fill_(7.0)  # a write into the shared segment, visible to the parent
    q_out.put("written")
    done.wait(10)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_round_trip_across_processes_shares_memory(method):
    ctx = mp.get_context(method)
    q_in, q_out, done = ctx.Queue(), ctx.Queue(), ctx.Event()
    p = ctx.Process(target=_child_double_and_write, args=(q_in, q_out, done))
    p.start()
    try:
        base = ctorch.arange(10, dtype=ctorch.float32)
        t = base[2:8:2]  # a strided view with an offset
        q_in.put(t)
        shared_in_child, values, doubled = q_out.get(timeout=30)
        assert shared_in_child
        assert values == [2.0, 4.0, 6.0]
        assert doubled.tolist() == [4.0, 8.0, 12.0] and doubled.is_shared()
        assert base.is_shared()  # pickling moved the sender's storage into shared memory
        assert q_out.get(timeout=30) == "written"
        assert t.tolist() == [7.0, 7.0, 7.0]
        assert base[3].item() == 3.0  # only the view's elements were written
    finally:
        done.set()
        p.join(10)
    assert p.exitcode == 0


def test_forking_pickler_sends_a_handle_not_bytes():
    t = ctorch.zeros(1 << 20)  # 4 MiB
    from multiprocessing.reduction import ForkingPickler
    buf = ForkingPickler.dumps(t)
    assert len(buf) < 4096
    assert t.is_shared()


def test_sharing_strategy():
    assert mp.get_sharing_strategy() == "file_descriptor"
    assert "file_descriptor" in mp.get_all_sharing_strategies()
    with pytest.raises(ValueError):
        mp.set_sharing_strategy("file_system_bogus")
    mp.set_sharing_strategy("file_descriptor")
    assert mp.Process is python_mp.Process


def test_rebuild_rejects_out_of_bounds_geometry():
    t = ctorch.zeros(4).share_memory_()
    fd, nbytes = t._shm_handle()
    with pytest.raises(RuntimeError, match="does not fit"):
        ctorch._C._tensor_from_shm_fd(os.dup(fd), nbytes, ctorch.float32, [5], [1], 0)
    u = ctorch._C._tensor_from_shm_fd(os.dup(fd), nbytes, ctorch.float32, [2], [2], 1)
    t[1] = 3.0
    assert u.tolist() == [3.0, 0.0] and u.is_shared()
