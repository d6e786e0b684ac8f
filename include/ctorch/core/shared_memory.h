// CPU storages backed by POSIX shared memory (shm_open + mmap) so other processes can map them.
#pragma once
#include <cstddef>
#include "ctorch/core/macros.h"
#include "ctorch/core/storage.h"

namespace ctorch {

class Tensor;

// A fresh zero-filled shared-memory storage. The segment is unlinked right after it is created, so
// it lives only as long as some process holds its file descriptor or a mapping: nothing is left in
// /dev/shm even when a process is killed. Other processes get at it through the descriptor.
CTORCH_API Storage shm_allocate_storage(size_t nbytes);
// Maps the segment behind `fd` (which the storage then owns and closes) as a storage of `nbytes`.
CTORCH_API Storage shm_storage_from_fd(int fd, size_t nbytes);
// The descriptor of a shared-memory storage, or -1 for any other storage.
CTORCH_API int shm_storage_fd(const StorageImpl& s);
inline bool shm_is_shared(const StorageImpl& s) { return shm_storage_fd(s) >= 0; }
// Moves the storage of `t` (and so of all its views) into shared memory in place; no-op if it is
// already there. CPU only.
CTORCH_API void share_memory_(const Tensor& t);

}  // namespace ctorch
