// Shared-memory storages: in-place move of a tensor's storage, fd mapping, nothing left in /dev/shm.
#include <gtest/gtest.h>
#include <dirent.h>
#include <unistd.h>
#include <cstring>
#include <string>
#include "ctorch/ctorch.h"

using namespace ctorch;

namespace {
int ctorch_shm_entries() {
  int n = 0;
  if (DIR* d = opendir("/dev/shm")) {
    while (dirent* e = readdir(d)) n += std::strncmp(e->d_name, "ctorch", 6) == 0;
    closedir(d);
  }
  return n;
}
}  // namespace

TEST(SharedMemory, ShareMemoryMovesStorageInPlace) {
  int before = ctorch_shm_entries();
  Tensor t = empty({4}, DType::Float32);
  float* p = t.data<float>();
  for (int i = 0; i < 4; ++i) p[i] = static_cast<float>(i);
  Tensor v = make_view(t, {2}, {1}, 2);
  EXPECT_FALSE(shm_is_shared(*t.storage()));
  share_memory_(t);
  EXPECT_TRUE(shm_is_shared(*v.storage()));
  EXPECT_EQ(v.data<float>()[1], 3.0f);
  EXPECT_EQ(ctorch_shm_entries(), before);  // unlinked at creation

  // A second mapping of the same segment through a duplicated descriptor sees the same bytes.
  int fd = dup(shm_storage_fd(*t.storage()));
  Storage s2 = shm_storage_from_fd(fd, t.storage()->nbytes);
  static_cast<float*>(s2->data)[0] = 42.0f;
  EXPECT_EQ(t.data<float>()[0], 42.0f);
  EXPECT_NE(s2->data, t.storage()->data);
}

TEST(SharedMemory, EmptyStorageAndBadFd) {
  Storage s = shm_allocate_storage(0);
  EXPECT_TRUE(shm_is_shared(*s));
  EXPECT_EQ(s->nbytes, 0u);
  EXPECT_THROW(shm_storage_from_fd(-1, 8), Error);
  EXPECT_EQ(shm_storage_fd(*allocate_storage(16, Device())), -1);
}
