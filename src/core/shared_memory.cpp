// POSIX shared-memory storages: create (and immediately unlink) a segment, map it, share it by fd.
#include "ctorch/core/shared_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "ctorch/core/error.h"
#include "ctorch/core/tensor.h"

namespace ctorch {

namespace {

struct ShmCtx {
  int fd;
  size_t mapped;  // bytes mapped (at least 1: mmap refuses empty mappings)
};

void shm_release(void* ctx, void* data) {
  auto* c = static_cast<ShmCtx*>(ctx);
  if (data) munmap(data, c->mapped);
  if (c->fd >= 0) close(c->fd);
  delete c;
}

void* map_fd(int fd, size_t mapped, const char* op) {
  void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    int err = errno;
    close(fd);
    CTORCH_CHECK(false, "[", op, "] mmap of a shared-memory segment of ", mapped,
                 " bytes failed: ", std::strerror(err));
  }
  return p;
}

}  // namespace

Storage shm_allocate_storage(size_t nbytes) {
  static std::atomic<uint64_t> counter{0};
  size_t mapped = nbytes == 0 ? 1 : nbytes;
  int fd = -1;
  std::string name;
  // The name only has to be unique for the instant between shm_open and shm_unlink.
  for (int attempt = 0; attempt < 64 && fd < 0; ++attempt) {
    name = "/ctorch_" + std::to_string(getpid()) + "_" + std::to_string(counter.fetch_add(1));
    fd = shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0 && errno != EEXIST) break;
  }
  CTORCH_CHECK(fd >= 0, "[share_memory_] shm_open(", name, ") failed: ", std::strerror(errno));
  shm_unlink(name.c_str());
  if (ftruncate(fd, static_cast<off_t>(mapped)) != 0) {
    int err = errno;
    close(fd);
    CTORCH_CHECK(false, "[share_memory_] unable to resize a shared-memory segment to ", mapped,
                 " bytes: ", std::strerror(err));
  }
  void* p = map_fd(fd, mapped, "share_memory_");
  return wrap_storage(p, nbytes, Device(), shm_release, new ShmCtx{fd, mapped});
}

Storage shm_storage_from_fd(int fd, size_t nbytes) {
  CTORCH_CHECK(fd >= 0, "[shm] invalid file descriptor ", fd);
  size_t mapped = nbytes == 0 ? 1 : nbytes;
  struct stat st;
  if (fstat(fd, &st) != 0 || static_cast<size_t>(st.st_size) < mapped) {
    close(fd);
    CTORCH_CHECK(false, "[shm] shared-memory segment is smaller than the ", nbytes,
                 " bytes the tensor needs");
  }
  void* p = map_fd(fd, mapped, "shm");
  return wrap_storage(p, nbytes, Device(), shm_release, new ShmCtx{fd, mapped});
}

int shm_storage_fd(const StorageImpl& s) {
  if (s.deleter != shm_release || !s.ctx) return -1;
  return static_cast<const ShmCtx*>(s.ctx)->fd;
}

void share_memory_(const Tensor& t) {
  StorageImpl& s = *t.storage();
  if (shm_is_shared(s)) return;
  CTORCH_CHECK(s.device.is_cpu(), "[share_memory_] only CPU tensors can be moved to shared memory "
               "here, got a tensor on ", s.device.str());
  Storage fresh = shm_allocate_storage(s.nbytes);
  if (s.nbytes) std::memcpy(fresh->data, s.data, s.nbytes);
  // Swap the buffers inside the shared StorageImpl so every view of `t` follows; the old buffer
  // leaves with `fresh`, whose destructor hands it back to its owner.
  std::swap(s.data, fresh->data);
  std::swap(s.deleter, fresh->deleter);
  std::swap(s.ctx, fresh->ctx);
}

}  // namespace ctorch
